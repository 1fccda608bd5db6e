// Run the ocirt binary the way an engine does: global flags (--root) before the verb, stdout and stderr
// captured, an exit code back (sf's execCmd). stdout and stderr go to unlinked temporary files, not pipes: a
// container started by `create` or `run -d` inherits them and may keep them open for its whole life, which
// would keep a pipe-based helper waiting. Output a container writes after ocirt has exited is not captured:
// tests of a detached container's output have it write to a file (e.g. `probe counter /tmp/out`).
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {OCIRT_BIN} from './paths'

export interface OcirtOptions {
  /** State root: passed as `--root R` before the verb. */
  root?: string
  /** Written to ocirt's stdin, which is then closed (default: stdin is /dev/null). */
  input?: string | Buffer
  /** Kill ocirt (SIGKILL) and fail after this long; default 60000. */
  timeoutMs?: number
  /** Merged over process.env; a key set to undefined is removed. */
  env?: Record<string, string | undefined>
  cwd?: string
  /** Further global flags placed before the verb, e.g. ['--log', file, '--log-format', 'json']. */
  globals?: string[]
  /** The binary to run instead of bin/ocirt (or $OCIRT_BIN). */
  bin?: string
}

export interface OcirtResult {
  /** The full argv after the binary (globals first). */
  argv: string[]
  /** Exit code; 128+N when ocirt was killed by signal N. */
  code: number
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** stdout parsed as JSON; throws with the output quoted when it is not JSON. */
  json(): any
}

const DEFAULT_TIMEOUT_MS = 60_000
let seq = 0

function argvOf(args: string[], opts: OcirtOptions): string[] {
  return [...(opts.root !== undefined ? ['--root', opts.root] : []), ...(opts.globals ?? []), ...args]
}

function envOf(opts: OcirtOptions): NodeJS.ProcessEnv {
  // Tests compare plain text: a CI that forces colours (FORCE_COLOR) must not colour oclif's output.
  const env: NodeJS.ProcessEnv = {...process.env, NO_COLOR: '1'}
  delete env.FORCE_COLOR
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  return env
}

/** An already-unlinked temporary file, open for reading and writing. */
function captureFd(): number {
  const file = path.join(os.tmpdir(), `ocirt-test-out-${process.pid}-${++seq}-${Math.random().toString(36).slice(2)}`)
  const fd = fs.openSync(file, 'w+', 0o600)
  fs.unlinkSync(file)
  return fd
}

function readAndClose(fd: number): string {
  try {
    const size = fs.fstatSync(fd).size
    const buf = Buffer.alloc(size)
    let off = 0
    while (off < size) {
      const n = fs.readSync(fd, buf, off, size - off, off)
      if (n === 0) break
      off += n
    }
    return buf.toString('utf8', 0, off)
  } finally {
    fs.closeSync(fd)
  }
}

function result(argv: string[], code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string): OcirtResult {
  return {
    argv,
    code: code ?? 128 + (signal ? os.constants.signals[signal] : 0),
    signal,
    stdout,
    stderr,
    json() {
      try {
        return JSON.parse(stdout)
      } catch (e) {
        throw new Error(`ocirt ${argv.join(' ')}: stdout is not JSON (${(e as Error).message})\n` +
          `stdout: ${stdout}\nstderr: ${stderr}`)
      }
    },
  }
}

function timeoutError(label: string, argv: string[], ms: number, stdout: string, stderr: string): Error {
  return new Error(`${label} ${argv.join(' ')}: no exit after ${ms} ms (killed)\nstdout: ${stdout}\nstderr: ${stderr}`)
}

/** What runToExit gives back: the exit, and stdout and stderr as the process wrote them. */
export interface Exited {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * Runs BIN ARGS to its exit with stdout and stderr captured in unlinked files (not pipes: a container the command
 * starts may inherit them and hold them open). Rejects only on a failure to start, or when it has not exited after
 * timeoutMs (it is SIGKILLed; the error quotes `label`, the argv and what it wrote). Used by ocirt() and by the
 * engine tests' runCmd().
 */
export function runToExit(bin: string, args: string[], opts: {cwd?: string; env?: NodeJS.ProcessEnv; input?: string | Buffer; timeoutMs: number; label: string}): Promise<Exited> {
  const out = captureFd()
  const err = captureFd()
  return new Promise((resolve, reject) => {
    let child: ChildProcess
    try {
      child = spawn(bin, args, {cwd: opts.cwd, env: opts.env ?? process.env, stdio: [opts.input !== undefined ? 'pipe' : 'ignore', out, err]})
    } catch (e) {
      fs.closeSync(out)
      fs.closeSync(err)
      return reject(e)
    }
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, opts.timeoutMs)
    child.once('error', (e) => {
      clearTimeout(timer)
      fs.closeSync(out)
      fs.closeSync(err)
      reject(e)
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      const stdout = readAndClose(out)
      const stderr = readAndClose(err)
      if (timedOut) reject(timeoutError(opts.label, args, opts.timeoutMs, stdout, stderr))
      else resolve({code, signal, stdout, stderr})
    })
    if (child.stdin) {
      child.stdin.on('error', () => {}) // EPIPE when the command exits without reading its input
      child.stdin.end(opts.input)
    }
  })
}

/** Run `ocirt [--root R] ...args` to its exit. Rejects only on a timeout or a failure to start. */
export async function ocirt(args: string[], opts: OcirtOptions = {}): Promise<OcirtResult> {
  const argv = argvOf(args, opts)
  const ms = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const r = await runToExit(opts.bin ?? OCIRT_BIN, argv, {cwd: opts.cwd, env: envOf(opts), input: opts.input, timeoutMs: ms, label: 'ocirt'})
  return result(argv, r.code, r.signal, r.stdout, r.stderr)
}

/** ocirt() for places that cannot await (e.g. process 'exit' handlers). Throws on a timeout. */
export function ocirtSync(args: string[], opts: OcirtOptions = {}): OcirtResult {
  const argv = argvOf(args, opts)
  const ms = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const out = captureFd()
  const err = captureFd()
  let r: ReturnType<typeof spawnSync>
  try {
    r = spawnSync(opts.bin ?? OCIRT_BIN, argv, {
      cwd: opts.cwd,
      env: envOf(opts),
      stdio: [opts.input !== undefined ? 'pipe' : 'ignore', out, err],
      input: opts.input,
      timeout: ms,
      killSignal: 'SIGKILL',
    })
  } catch (e) {
    fs.closeSync(out)
    fs.closeSync(err)
    throw e
  }
  const stdout = readAndClose(out)
  const stderr = readAndClose(err)
  const error = r.error as NodeJS.ErrnoException | undefined
  if (error?.code === 'ETIMEDOUT') throw timeoutError('ocirt', argv, ms, stdout, stderr)
  if (error) throw error
  return result(argv, r.status, r.signal, stdout, stderr)
}

/**
 * Start ocirt with piped stdio and return the child, for tests that talk to a running `ocirt run` or `exec`
 * (stdin, signals, output as it comes). The caller owns the process: register it with Cleanup.pid().
 */
export function spawnOcirt(args: string[], opts: Omit<OcirtOptions, 'input' | 'timeoutMs'> = {}): ChildProcess {
  return spawn(opts.bin ?? OCIRT_BIN, argvOf(args, opts), {cwd: opts.cwd, env: envOf(opts), stdio: 'pipe'})
}

/** Throws, quoting the command and its output, unless r exited 0. Returns r for chaining. */
export function assertOk(r: OcirtResult, what = 'ocirt'): OcirtResult {
  if (r.code !== 0) {
    throw new Error(`${what}: \`ocirt ${r.argv.join(' ')}\` exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
  }
  return r
}
