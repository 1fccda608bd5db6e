// What the engine tests (test/engines/) share: the seccomp switch, running an engine's CLI to its exit, the
// test image built from the test rootfs (a plain tarball and an OCI image archive), daemons started and stopped
// by pid, the ocirt state an engine's runtime calls leave (the proof that ocirt, not runc, ran the container),
// and the sweep of processes that still name a test's private directory.
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {createHash} from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import assert from 'node:assert/strict'
import {ocirt} from '../ocirt'
import {OCIRT_BIN, PROBE_ROOTFS, REPO} from '../paths'
import {sleep} from '../containers'

/**
 * Engines run their containers with seccomp unconfined while ocirt refuses configs with linux.seccomp (the
 * seccomp branch is not merged yet). Set this to false once ocirt loads seccomp filters: the engines then pass
 * their default profiles and every engine test runs with them.
 */
export const SECCOMP_UNCONFINED = true

/** The flags podman and docker take for it (ctr passes no seccomp profile unless asked: see ctrSeccomp). */
export function securityOpts(): string[] {
  return SECCOMP_UNCONFINED ? ['--security-opt', 'seccomp=unconfined'] : []
}

/** `ctr run --seccomp` (containerd's default profile) once seccomp is in; nothing while it is not. */
export function ctrSeccomp(): string[] {
  return SECCOMP_UNCONFINED ? [] : ['--seccomp']
}

/** The Seccomp: field of /proc/PID/status: 0 none, 2 a filter (what the engine's profile must give). */
export function seccompModeOf(pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Seccomp:'))
  return Number(line?.split(/\s+/)[1])
}

/** The seccomp mode every engine container must have under SECCOMP_UNCONFINED. */
export const EXPECTED_SECCOMP_MODE = SECCOMP_UNCONFINED ? 0 : 2

/** The image name every engine test imports the test rootfs under. */
export const IMAGE = 'localhost/ocirt-probe:latest'

/** The first of these programs found in PATH (or given as an absolute path), or undefined. */
export function findBin(...names: string[]): string | undefined {
  const dirs = (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')
  for (const name of names) {
    const candidates = name.startsWith('/') ? [name] : dirs.map((d) => path.join(d, name))
    for (const c of candidates) {
      try {
        fs.accessSync(c, fs.constants.X_OK)
        return c
      } catch {}
    }
  }
  return undefined
}

/** The skip reason of an engine test: the first missing program, root, ocirt's build, or the test rootfs. */
export function engineMissing(engine: string, ...programs: string[]): string | false {
  if (process.getuid?.() !== 0) return `${engine}: needs root`
  for (const p of programs) {
    if (!findBin(p)) return `${engine}: ${p} is not installed (scripts/setup.sh installs it)`
  }
  if (!fs.existsSync(OCIRT_BIN)) return `${engine}: ${OCIRT_BIN} missing (npm run build)`
  if (!fs.existsSync(path.join(PROBE_ROOTFS, 'bin', 'probe'))) return `${engine}: test rootfs not built (scripts/build-rootfs.sh)`
  return false
}

/** A name no other test run uses: PREFIX-<pid>-<random>. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
}

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

/** Throws, quoting the command and its output, unless it exited 0. Returns r. */
export function assertCmd(r: CmdResult, what: string): CmdResult {
  if (r.code !== 0) throw new Error(`${what}: \`${r.argv.join(' ')}\` exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
  return r
}

/** A fresh private directory for one engine test run (the caller registers it for removal). */
export function privateDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`))
}

/** The test rootfs (busybox + probe) as a plain tarball in DIR, for `podman import` and `docker import`. */
export function rootfsTarball(dir: string): string {
  const file = path.join(dir, 'rootfs.tar')
  const r = spawnSync('tar', ['-C', PROBE_ROOTFS, '--numeric-owner', '-cf', file, '.'], {encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`tar of ${PROBE_ROOTFS} failed: ${r.stderr}`)
  return file
}

function writeBlob(blobs: string, data: Buffer): {digest: string; size: number} {
  const hex = createHash('sha256').update(data).digest('hex')
  fs.writeFileSync(path.join(blobs, hex), data)
  return {digest: `sha256:${hex}`, size: data.length}
}

/**
 * The test rootfs as an OCI image archive (image layout in a tar, one uncompressed layer) named REF, for
 * `ctr images import`: containerd takes the name from the index's io.containerd.image.name annotation.
 */
export function ociArchive(dir: string, ref: string): string {
  const layout = path.join(dir, 'oci-layout')
  const blobs = path.join(layout, 'blobs', 'sha256')
  fs.mkdirSync(blobs, {recursive: true})
  const layer = writeBlob(blobs, fs.readFileSync(rootfsTarball(dir)))
  const config = writeBlob(blobs, Buffer.from(JSON.stringify({
    architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
    os: 'linux',
    config: {Cmd: ['/bin/sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']},
    rootfs: {type: 'layers', diff_ids: [layer.digest]},
  })))
  const manifest = writeBlob(blobs, Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {mediaType: 'application/vnd.oci.image.config.v1+json', ...config},
    layers: [{mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer}],
  })))
  fs.writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}))
  fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      ...manifest,
      annotations: {'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': ref},
    }],
  }))
  const file = path.join(dir, 'image.oci.tar')
  const r = spawnSync('tar', ['-C', layout, '-cf', file, '.'], {encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`tar of ${layout} failed: ${r.stderr}`)
  fs.rmSync(layout, {recursive: true, force: true})
  return file
}

/** A daemon the test started: its process and the log its stdout and stderr go to. */
export interface Daemon {
  name: string
  child: ChildProcess
  log: string
}

/** Start BIN ARGS as a daemon logging to LOG; stopDaemon() ends it. */
export function startDaemon(name: string, bin: string, args: string[], log: string, env?: NodeJS.ProcessEnv): Daemon {
  const fd = fs.openSync(log, 'a', 0o600)
  try {
    const child = spawn(bin, args, {stdio: ['ignore', fd, fd], env: env ?? process.env})
    child.on('error', () => {})
    return {name, child, log}
  } finally {
    fs.closeSync(fd)
  }
}

export function logTail(d: Daemon, lines = 30): string {
  try {
    return fs.readFileSync(d.log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

/** Wait until READY resolves true, failing early (with the log's tail) when the daemon exits. */
export async function waitReady(d: Daemon, ready: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    if (d.child.exitCode !== null || d.child.signalCode !== null) {
      throw new Error(`${d.name} exited (${d.child.exitCode ?? d.child.signalCode}) while starting:\n${logTail(d)}`)
    }
    if (await ready()) return
    if (Date.now() > deadline) throw new Error(`${d.name} not ready after ${ms} ms:\n${logTail(d)}`)
    await sleep(200)
  }
}

/** SIGTERM the daemon (by its pid), SIGKILL it after MS, and wait for it to be gone. */
export async function stopDaemon(d: Daemon, ms = 20_000): Promise<void> {
  const c = d.child
  if (c.exitCode !== null || c.signalCode !== null) return
  const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()))
  c.kill('SIGTERM')
  const timer = setTimeout(() => c.kill('SIGKILL'), ms)
  await exited
  clearTimeout(timer)
}

/** Pids of processes (other than this one) with an argument that contains NEEDLE, e.g. a private directory. */
export function pidsMentioning(needle: string): number[] {
  const found: number[] = []
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    try {
      const args = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
      if (args.some((a) => a.includes(needle))) found.push(Number(entry))
    } catch {}
  }
  return found
}

/**
 * The engine's helpers that outlive its commands (conmon, `podman container cleanup`, containerd shims) name
 * the test's private directory on their command line: give them MS to finish, then SIGKILL each by its pid.
 */
export async function reapMentioning(needle: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (pidsMentioning(needle).length > 0 && Date.now() < deadline) await sleep(100)
  for (const pid of pidsMentioning(needle)) {
    process.stderr.write(`engine cleanup: pid ${pid} (${fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()}) still running; SIGKILL\n`)
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
  }
}

/** `ocirt --root ROOT delete --force` of every container ocirt still keeps under ROOT. */
export async function deleteOcirtContainers(root: string): Promise<void> {
  if (!fs.existsSync(root)) return
  for (const id of fs.readdirSync(root)) {
    if (!fs.existsSync(path.join(root, id, 'state.json'))) continue
    const r = await ocirt(['delete', '--force', id], {root, timeoutMs: 30_000})
    if (r.code !== 0) process.stderr.write(`engine cleanup: ocirt delete --force ${id}: ${r.stderr}\n`)
  }
}

/** This repository's ocirt, even when $OCIRT_BIN points the engines at another runtime: it reads only ocirt's state. */
const OCIRT_ITSELF = path.join(REPO, 'bin', 'ocirt')

/**
 * The proof that ocirt ran the engine's container: ocirt's own state under ROOT knows ID, as running, with the
 * pid the engine reports. (runc keeps a different state; an engine that ran runc leaves nothing ocirt can read.)
 */
export async function assertRunByOcirt(root: string, id: string, enginePid: number): Promise<void> {
  const r = await ocirt(['state', id], {root, bin: OCIRT_ITSELF})
  assert.equal(r.code, 0, `ocirt --root ${root} state ${id} must know the engine's container (stderr: ${r.stderr})`)
  const state = r.json()
  assert.equal(state.status, 'running', `ocirt's state of ${id}`)
  assert.equal(state.pid, enginePid, `ocirt's init pid of ${id} is the engine's container pid`)
}

/** The value of FILE in the v1 controller's cgroup of PID, e.g. memory.limit_in_bytes. */
export function cgroupFileOf(pid: number, controller: string, file: string): string {
  const line = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.split(':')[1]?.split(',').includes(controller))
  if (!line) throw new Error(`pid ${pid} has no ${controller} cgroup`)
  const rel = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1)
  const mount = fs.existsSync(`/sys/fs/cgroup/${controller}`) ? `/sys/fs/cgroup/${controller}` : '/sys/fs/cgroup'
  return fs.readFileSync(path.join(mount, rel, file), 'utf8').trim()
}

/** Directories the engine creates outside its private ones (e.g. /run/containerd): removed when they did not exist before and are empty. */
export function removeIfNewAndEmpty(existedBefore: Set<string>, dirs: string[]): void {
  for (const dir of dirs) {
    if (existedBefore.has(dir) || !fs.existsSync(dir)) continue
    try {
      fs.rmdirSync(dir)
    } catch (e) {
      process.stderr.write(`engine cleanup: ${dir} left (${(e as NodeJS.ErrnoException).code})\n`)
    }
  }
}

/** Which of DIRS exist now. */
export function existing(dirs: string[]): Set<string> {
  return new Set(dirs.filter((d) => fs.existsSync(d)))
}
