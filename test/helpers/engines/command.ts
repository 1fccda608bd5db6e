// Running an engine's CLI to its exit (output captured in unlinked files, not pipes: a container the engine
// starts may inherit them), and on a terminal of a given size through util-linux `script`.
import {spawn, type ChildProcess} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

export interface CmdResult {
  argv: string[]
  code: number
  stdout: string
  stderr: string
}

export interface CmdOptions {
  env?: NodeJS.ProcessEnv
  timeoutMs?: number
  input?: string
}

/** An already-unlinked temporary file: a container an engine starts may hold it, unlike a pipe, harmlessly. */
function captureFd(): number {
  const file = path.join(os.tmpdir(), `ocirt-engine-out-${process.pid}-${Math.random().toString(36).slice(2)}`)
  const fd = fs.openSync(file, 'w+', 0o600)
  fs.unlinkSync(file)
  return fd
}

function readAndClose(fd: number): string {
  try {
    return readAt(fd)
  } finally {
    fs.closeSync(fd)
  }
}

function readAt(fd: number): string {
  const size = fs.fstatSync(fd).size
  const buf = Buffer.alloc(size)
  let off = 0
  while (off < size) {
    const n = fs.readSync(fd, buf, off, size - off, off)
    if (n === 0) break
    off += n
  }
  return buf.toString('utf8', 0, off)
}

/** Run BIN ARGS to its exit, stdout and stderr captured; rejects on a timeout (the command is SIGKILLed). */
export function runCmd(bin: string, args: string[], opts: CmdOptions = {}): Promise<CmdResult> {
  const argv = [bin, ...args]
  const ms = opts.timeoutMs ?? 120_000
  const out = captureFd()
  const err = captureFd()
  return new Promise((resolve, reject) => {
    let child: ChildProcess
    try {
      child = spawn(bin, args, {env: opts.env ?? process.env, stdio: [opts.input !== undefined ? 'pipe' : 'ignore', out, err]})
    } catch (e) {
      fs.closeSync(out)
      fs.closeSync(err)
      return reject(e)
    }
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, ms)
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
      if (timedOut) reject(new Error(`${argv.join(' ')}: no exit after ${ms} ms (killed)\nstdout: ${stdout}\nstderr: ${stderr}`))
      else resolve({argv, code: code ?? 128 + (signal ? os.constants.signals[signal] : 0), stdout, stderr})
    })
    if (child.stdin) {
      child.stdin.on('error', () => {})
      child.stdin.end(opts.input)
    }
  })
}

/** Throws, quoting the command and its output, unless it exited 0. Returns r. */
export function assertCmd(r: CmdResult, what: string): CmdResult {
  if (r.code !== 0) throw new Error(`${what}: \`${r.argv.join(' ')}\` exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
  return r
}

/** BIN ARGS as one shell command line (for `script -c`), each word quoted; ENV assignments first. */
export function shellLine(bin: string, args: string[], env: Record<string, string> = {}): string {
  const q = (w: string) => `'${w.replace(/'/g, `'\\''`)}'`
  return [...Object.entries(env).map(([k, v]) => `${k}=${q(v)}`), q(bin), ...args.map(q)].join(' ')
}

/**
 * Run the shell command line CMD on a fresh pty of ROWS x COLS, as a user at a terminal would (util-linux
 * `script`); resolves with its exit status and what it wrote to the terminal (CR LF turned into LF).
 */
export async function onTerminal(cmd: string, rows = 31, cols = 101): Promise<CmdResult> {
  const r = await runCmd('script', ['-qec', `stty rows ${rows} cols ${cols}; ${cmd}`, '/dev/null'])
  return {...r, stdout: r.stdout.replace(/\r/g, '')}
}

/** The lines of a terminal transcript that a test looks for: `tty` and `stty size` output (script may echo ^@ first). */
export function terminalLines(out: string): string[] {
  return out.split('\n').map((l) => l.replace(/^\^@/, ''))
}
