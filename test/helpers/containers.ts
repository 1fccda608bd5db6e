// Small conveniences for integration tests that start real containers: a bundle with its own cgroupsPath
// (removed by the cleanup), a `create` whose container writes to a file the test can read at any time,
// polling with a deadline, and views of /proc and the cgroup hierarchies.
import {spawn, spawnSync} from 'node:child_process'
import type {ChildProcess} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {makeBundle, type Bundle, type BundleOptions, type SpecOverride} from './bundle'
import type {AfterHost, Cleanup} from './cleanup'
import {ocirt, type OcirtOptions, type OcirtResult} from './ocirt'
import {OCIRT_BIN} from './paths'

export interface TestBundle extends Bundle {
  /** linux.cgroupsPath of the container, e.g. /ocirt-test-t-123-1-ab12 */
  cgroupsPath: string
  /** `ocirt --root <root> ...args` */
  ocirt(args: string[], opts?: OcirtOptions): Promise<OcirtResult>
}

/** makeBundle with linux.cgroupsPath set to /ocirt-test-<id> and that cgroup registered with the cleanup. */
export function containerBundle(owner: Cleanup | AfterHost, override?: SpecOverride, opts?: BundleOptions): TestBundle {
  const b = makeBundle(owner, override, opts) as TestBundle
  b.cgroupsPath = `/ocirt-test-${b.id}`
  b.cleanup.cgroup(b.cgroupsPath)
  b.spec.linux = {...b.spec.linux, cgroupsPath: b.cgroupsPath}
  b.writeSpec()
  b.ocirt = (args, o = {}) => ocirt(args, {root: b.root, ...o})
  return b
}

/**
 * `ocirt create` with the container's stdout and stderr going to `<bundle>/out` (readable with readOut), so
 * a detached container's output can be inspected while it runs. Resolves with ocirt's result.
 */
export function createWithOutput(b: Bundle, extra: string[] = [], opts: {globals?: string[]} = {}): Promise<OcirtResult> {
  const file = outFile(b)
  const fd = fs.openSync(file, 'a', 0o644)
  const errFile = `${file}.ocirt-stderr`
  const efd = fs.openSync(errFile, 'w', 0o644)
  const argv = ['--root', b.root, ...(opts.globals ?? []), 'create', ...extra, '--bundle', b.dir, b.id]
  return new Promise((resolve, reject) => {
    const child = spawn(OCIRT_BIN, argv, {stdio: ['ignore', fd, efd]})
    fs.closeSync(fd)
    fs.closeSync(efd)
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      const stderr = fs.readFileSync(errFile, 'utf8')
      fs.rmSync(errFile, {force: true})
      resolve({argv, code: code ?? 128, signal, stdout: '', stderr, json: () => JSON.parse('')})
    })
  })
}

export function outFile(b: Bundle): string {
  return path.join(b.dir, 'out')
}

export function readOut(b: Bundle): string {
  try {
    return fs.readFileSync(outFile(b), 'utf8')
  } catch {
    return ''
  }
}

type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>

/** Poll `fn` until it returns a truthy value (returned) or `ms` pass (throws, naming `what`). */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, ms = 10_000, every = 20): Promise<Truthy<T>> {
  const deadline = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v) return v as Truthy<T>
      last = v
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${String(last)})`)
    await sleep(every)
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The container's state as `ocirt state` prints it; throws with ocirt's stderr when it fails. */
export async function stateOf(b: TestBundle): Promise<{status: string; pid: number; [k: string]: unknown}> {
  const r = await b.ocirt(['state', b.id])
  if (r.code !== 0) throw new Error(`ocirt state ${b.id} exited ${r.code}: ${r.stderr.trim()}`)
  return r.json()
}

export function waitStatus(b: TestBundle, status: string, ms = 10_000): Promise<unknown> {
  return waitFor(`${b.id} to be ${status}`, async () => (await stateOf(b)).status === status, ms)
}

/** The process exists and is not a zombie (one definition for the helpers: cleanup.ts's). */
export {isAlive as alive} from './cleanup'

/** readlink /proc/<pid>/ns/<name>, or undefined when the process is gone. */
export function nsOf(pid: number | 'self', name: string): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/${name}`)
  } catch {
    return undefined
  }
}

/** Every cgroup v1 hierarchy and the unified one, as mounted under /sys/fs/cgroup. */
export function cgroupMounts(): string[] {
  return fs.readdirSync('/sys/fs/cgroup', {withFileTypes: true})
    .filter((e) => e.isDirectory()).map((e) => path.join('/sys/fs/cgroup', e.name))
}

/** The hierarchies under /sys/fs/cgroup that hold a directory for cgroupsPath. */
export function cgroupDirsLeft(cgroupsPath: string): string[] {
  return cgroupMounts().map((m) => path.join(m, cgroupsPath)).filter((d) => fs.existsSync(d))
}

/** stderr with logrus-style lines (`time=... level=error msg="..."`) turned into their plain message. */
export function stderrText(stderr: string): string {
  return stderr.split('\n').map((line) => {
    const m = /^time="[^"]*" level=\w+ msg=(".*")$/.exec(line)
    if (!m) return line
    try {
      return JSON.parse(m[1]) as string
    } catch {
      return line
    }
  }).join('\n')
}

/** ocirt exited with `code` and its stderr (logrus quoting undone) holds `text`; failures show both. */
export function expectFail(r: OcirtResult, text: string | RegExp, code = 1): void {
  const err = stderrText(r.stderr)
  const okText = typeof text === 'string' ? err.includes(text) : text.test(err)
  if (r.code !== code || !okText) {
    throw new Error(`expected \`ocirt ${r.argv.join(' ')}\` to exit ${code} with ${String(text)} on stderr; ` +
      `got ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
  }
}

/** `ocirt run` of the bundle in the foreground; its stdout, or throws with ocirt's output. */
export async function runOut(b: TestBundle, opts: OcirtOptions = {}): Promise<string> {
  const r = await b.ocirt(['run', '--bundle', b.dir, b.id], opts)
  if (r.code !== 0) throw new Error(`ocirt run ${b.id} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
  return r.stdout
}

/**
 * `runc run` of the same bundle (the reference), in the foreground, under its own state root and id; the
 * cleanup deletes it. Tests compare its output with ocirt's where runc's behaviour is the definition.
 */
export function runcRun(b: Bundle, timeoutMs = 30_000): {code: number | null; stdout: string; stderr: string} {
  const root = path.join(path.dirname(b.dir), 'runc-state')
  const id = `${b.id}-runc`
  b.cleanup.add(`runc delete ${id}`, () => spawnSync('runc', ['--root', root, 'delete', '--force', id], {stdio: 'ignore', timeout: 30_000}))
  const r = spawnSync('runc', ['--root', root, 'run', '--bundle', b.dir, id], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs})
  return {code: r.status, stdout: r.stdout, stderr: r.stderr}
}

/** A shell command line run by the rootfs's busybox sh: several probes in one container. */
export function sh(script: string): string[] {
  return ['/bin/sh', '-c', script]
}

/** Resolves with how a spawned ocirt process exited; rejects after `ms`. */
export function exitOf(child: ChildProcess, ms = 20_000): Promise<{code: number | null; signal: string | null}> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve({code: child.exitCode, signal: child.signalCode})
    const timer = setTimeout(() => reject(new Error(`ocirt (pid ${child.pid}) did not exit within ${ms} ms`)), ms)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({code, signal})
    })
  })
}
