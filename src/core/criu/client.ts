// Running the criu binary: `--criu PATH` (default `criu` on PATH), its version (3.x cannot work on kernels from
// 6.13), `criu check --feature`, and a dump/restore whose failure carries the tail of CRIU's log and its path.
// The argv comes from args.ts; this file only runs it.
import {spawn, spawnSync, type StdioOptions} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {OcirtError, type ErrorContext} from '../errors'
import type {Runtime} from '../runtime'
import {debug} from '../log'
import {withCriuTar} from './tar-shim'
import {criuLauncher, launcherArgs, whyNoTmpfsRebuild} from './launcher'
import type {TmpfsSkeleton} from './tmpfs-skeleton'
import {requestFromArgv} from './rpc'
import type {CriuService} from './service'
import type {HeldCriu} from './held'

/** criu ran and failed, or could not run; `log` is the path of its log file when it wrote one. */
export class CriuFailed extends OcirtError {
  readonly log?: string
  constructor(detail: string, ctx: ErrorContext, log?: string) {
    super(detail, ctx)
    this.name = 'CriuFailed'
    this.log = log
  }
}

export interface CriuVersion {
  major: number
  minor: number
  patch: number
  text: string
}

const INSTALL_HINT = 'install CRIU 4.x with scripts/install-criu.sh, or point --criu at one'

/** `criu --version` prints "Version: 4.1.1" (and "GitID: ..." for builds from git). */
export function parseCriuVersion(out: string): CriuVersion | undefined {
  const m = /^Version:\s*(\d+)\.(\d+)(?:\.(\d+))?/m.exec(out)
  if (!m) return undefined
  return {major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0), text: `${m[1]}.${m[2]}${m[3] ? '.' + m[3] : ''}`}
}

/** major.minor of a kernel release string (6.18.44-fc-v782 → [6, 18]). */
export function kernelVersion(release: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release)
  return m ? [Number(m[1]), Number(m[2])] : [0, 0]
}

/**
 * Why this CRIU cannot be used on this kernel, or undefined. CRIU before 4.0 fails on kernels from 6.13 ("vdso:
 * Unexpected rt vDSO area bounds": the [vvar_vclock] mapping is new), and anything before 3.0 lacks what ocirt uses.
 */
export function criuUnusable(v: CriuVersion, kernelRelease: string, criu: string): string | undefined {
  const [kmaj, kmin] = kernelVersion(kernelRelease)
  if (v.major < 3 || (v.major === 3 && v.minor < 15)) return `criu ${v.text} (${criu}) is too old: ocirt needs CRIU 3.15 or later; ${INSTALL_HINT}`
  if (v.major < 4 && (kmaj > 6 || (kmaj === 6 && kmin >= 13))) {
    return `criu ${v.text} (${criu}) cannot checkpoint on kernel ${kernelRelease}: CRIU before 4.0 does not know the vDSO layout of kernels 6.13 and later; ${INSTALL_HINT}`
  }
  return undefined
}

/**
 * The --network-lock method to pass to this CRIU: `skip` (an optimisation: no iptables-restore around the dump or
 * restore) exists from CRIU 3.19; older ones take their default lock instead of failing on an unknown value.
 */
export function networkLockFor<T extends string>(v: CriuVersion, wanted: T | undefined): T | undefined {
  if (wanted !== 'skip') return wanted
  return v.major > 3 || (v.major === 3 && v.minor >= 19) ? wanted : undefined
}

/**
 * What was learnt about a criu binary, kept in <root>/.criu-cache.json for as long as the same binary (path, size,
 * mtime) runs on the same boot: `criu --version` costs ~16 ms and each `criu check --feature` ~150 ms (CRIU probes
 * the kernel every time), which would otherwise land on every checkpoint and on the downtime of every restore.
 */
interface CriuCache {
  key: string
  version?: CriuVersion
  /** feature → why it is missing ('' = present) */
  features: Record<string, string>
}

const CACHE_FILE = '.criu-cache.json'
let memo: CriuCache | undefined

function cacheKey(rt: Runtime): string | undefined {
  const bin = findBinary(rt.criu)
  if (!bin) return undefined
  try {
    const st = fs.statSync(bin)
    const boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    return `${bin}:${st.size}:${st.mtimeMs}:${boot}`
  } catch {
    return undefined
  }
}

/** What identifies this criu binary on this boot (path, size, mtime, boot id), or undefined if there is none. */
export function criuBinaryKey(rt: Runtime): string | undefined {
  return cacheKey(rt)
}

function loadCache(rt: Runtime): CriuCache | undefined {
  const key = cacheKey(rt)
  if (key === undefined) return undefined
  if (memo?.key === key) return memo
  try {
    const c = JSON.parse(fs.readFileSync(path.join(rt.root, CACHE_FILE), 'utf8')) as CriuCache
    if (c.key === key && c.features) return (memo = c)
  } catch {
    // none yet, or unreadable: start afresh
  }
  return (memo = {key, features: {}})
}

function saveCache(rt: Runtime, c: CriuCache): void {
  memo = c // later calls in this process see it too (a migration asks about the same features twice)
  try {
    fs.mkdirSync(rt.root, {recursive: true, mode: 0o700})
    const tmp = path.join(rt.root, `${CACHE_FILE}.${process.pid}.tmp`)
    fs.writeFileSync(tmp, JSON.stringify(c), {mode: 0o600})
    fs.renameSync(tmp, path.join(rt.root, CACHE_FILE))
  } catch {
    // a cache that cannot be written costs time, nothing else
  }
}

/**
 * Whether ocirt itself found this of this criu before (e.g. that it serves TLS), kept beside `criu check`'s answers
 * and forgotten with them when the binary changes. Only what held is kept: a failure may have been the moment's (a
 * busy port, a slow machine).
 */
export function knownCriuFact(rt: Runtime, fact: string): boolean {
  return loadCache(rt)?.features[`ocirt:${fact}`] === ''
}

export function recordCriuFact(rt: Runtime, fact: string): void {
  const cache = loadCache(rt)
  if (cache) saveCache(rt, {...cache, features: {...cache.features, [`ocirt:${fact}`]: ''}})
}

/** The file `spawn` would run for `cmd` (a path, or a name looked up in PATH). */
function findBinary(cmd: string): string | undefined {
  const candidates = cmd.includes('/') ? [path.resolve(cmd)] : (process.env.PATH ?? '').split(':').filter(Boolean).map((d) => path.join(d, cmd))
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK)
      if (fs.statSync(c).isFile()) return c
    } catch {
      // next
    }
  }
  return undefined
}

/** Runs `criu --version` (unless cached); a missing binary is a clear error. */
export function criuVersion(rt: Runtime, ctx: ErrorContext): CriuVersion {
  const cache = loadCache(rt)
  if (cache?.version) return cache.version
  const r = spawnSync(rt.criu, ['--version'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000})
  const err = r.error as NodeJS.ErrnoException | undefined
  if (err) {
    const why = err.code === 'ENOENT' ? 'not found' : err.code === 'EACCES' ? 'not executable' : err.message
    throw new CriuFailed(`criu binary ${rt.criu}: ${why}; ${INSTALL_HINT}`, {...ctx, step: 'find criu'})
  }
  const v = parseCriuVersion(r.stdout ?? '')
  if (r.status !== 0 || !v) {
    throw new CriuFailed(`\`${rt.criu} --version\` did not report a version (exit status ${r.status}): ${(r.stderr || r.stdout || '').trim()}`, {...ctx, step: 'find criu'})
  }
  if (cache) saveCache(rt, {...cache, version: v})
  return v
}

/** The version check every checkpoint and restore starts with. */
export function requireUsableCriu(rt: Runtime, ctx: ErrorContext): CriuVersion {
  const v = criuVersion(rt, ctx)
  const why = criuUnusable(v, os.release(), rt.criu)
  if (why) throw new CriuFailed(why, {...ctx, step: 'check criu version'})
  debug(`criu ${v.text} at ${rt.criu}`)
  return v
}

/** `criu check --feature NAME` (unless cached): undefined when supported, else CRIU's reason. */
export function criuFeatureMissing(rt: Runtime, feature: string): string | undefined {
  const cache = loadCache(rt)
  const known = cache?.features[feature]
  if (known !== undefined) return known || undefined
  const r = spawnSync(rt.criu, ['check', '--feature', feature], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000})
  let why = ''
  if (r.status !== 0) {
    const text = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').pop() ?? ''
    why = text.replace(/^(Warn|Error)\s*\([^)]*\):\s*/, '') || `exit status ${r.status}`
  }
  if (cache && !r.error) saveCache(rt, {...cache, features: {...cache.features, [feature]: why}})
  return why || undefined
}

export interface RunCriuOptions {
  ctx: ErrorContext
  /** the log CRIU writes (args.ts --log-file, inside the work dir): quoted on failure */
  logFile: string
  /** our fds handed to criu as its fds 3, 4, ... (inherited stdio, namespace files, a status fd) */
  extraFds?: number[]
  /** cgroup.procs files criu joins before it starts (restore: the restored tree is born in the new cgroup) */
  joinCgroupProcs?: string[]
  /** aborting kills criu (SIGKILL): a migration that must roll back while a lazy dump still serves pages */
  signal?: AbortSignal
  /** restore: the container's rootfs bound at `target` for --root, in a mount namespace of criu's own (rootfs.ts) */
  bindRoot?: RootBind
  /** restore: tmpfs mounts built in that mount namespace for CRIU to bind in place of dumped ones (tmpfs-skeleton.ts) */
  tmpfs?: TmpfsBuild[]
  /** a criu started beforehand (service.ts) with extraFds already: used when it is up and can take argv */
  service?: CriuService
  /** restore: a criu restore started beforehand, held at its gate (held.ts): used when it was started for this */
  held?: HeldCriu
}

/** A tmpfs for criu's mount namespace: mounted at `dir` (an empty directory of ours) and filled as `skeleton` says. */
export interface TmpfsBuild {
  dir: string
  skeleton: TmpfsSkeleton
}

export interface RootBind {
  rootfs: string
  /** an empty directory: the bind exists only in criu's mount namespace, which ends with criu */
  target: string
  readonly: boolean
}

/**
 * Runs criu and resolves when it exits 0. criu's own stdout/stderr are captured (its stdio is not the
 * container's: the fds a restored container inherits are passed as extra fds). Joining cgroups goes through
 * ocirt-criu-launch (launcher.ts; /bin/sh when it is not built), which writes its own pid to each cgroup.procs and
 * then execs criu, so there is no moment when criu runs outside them (runc moves its `criu swrk` child into the
 * cgroup for the same reason).
 */
export async function runCriu(rt: Runtime, argv: string[], opts: RunCriuOptions): Promise<void> {
  if (opts.service && await serviceCanRun(opts.service, argv, opts)) {
    return opts.service.run(argv, {logFile: opts.logFile, ctx: opts.ctx, signal: opts.signal})
  }
  opts.service?.close()
  if (opts.held) {
    const why = opts.held.whyNot(argv, {extraFds: opts.extraFds ?? [], bindRoot: opts.bindRoot, tmpfs: opts.tmpfs ?? []})
    if (!why && await opts.held.run(argv, {join: opts.joinCgroupProcs ?? [], logFile: opts.logFile, ctx: opts.ctx})) return
    debug(`${opts.ctx.verb ?? 'restore'} ${opts.ctx.id ?? ''}: the criu restore held at its gate is not used: ${why ?? 'it was gone before it could be let go'}; spawning criu`)
    opts.held.stop()
  }
  const stdio: StdioOptions = ['ignore', 'pipe', 'pipe', ...(opts.extraFds ?? [])]
  const join = opts.joinCgroupProcs ?? []
  const root = opts.bindRoot
  const tmpfs = opts.tmpfs ?? []
  // the tmpfs mounts need criu's own mount namespace, which only comes with the root bind in the shell's way
  if (tmpfs.length && !root) throw new Error('runCriu: tmpfs mounts need bindRoot')
  const noRebuild = whyNoTmpfsRebuild(tmpfs)
  if (noRebuild) throw new CriuFailed(noRebuild, {...opts.ctx, step: 'rebuild tmpfs'})
  const prepare = join.length > 0 || root !== undefined
  // criu runs `tar` for each tmpfs mount: ours first (tar-shim.ts)
  const base = withCriuTar(process.env)
  const launcher = prepare ? criuLauncher() : undefined
  const shell = prepare && !launcher
  const env = shell ? {
    ...base,
    OCIRT_CRIU_JOIN: join.join('\n'),
    ...(root ? {OCIRT_CRIU_ROOTFS: root.rootfs, OCIRT_CRIU_ROOT: root.target, OCIRT_CRIU_ROOT_RO: root.readonly ? '1' : ''} : {}),
    // mode|names|ro, or rw and its options|dir
    OCIRT_CRIU_TMPFS: tmpfs.map((t) => `${t.skeleton.mode.toString(8)}|${t.skeleton.dirs.join('/')}|${t.skeleton.writable ? ['rw', ...t.skeleton.writable.options].join(',') : 'ro'}|${t.dir}`).join('\n'),
  } : base
  const sh = ['/bin/sh', '-c', PREPARE_AND_EXEC, 'criu', rt.criu, ...argv]
  // the launcher (launcher.ts) or, without it, unshare and a shell, execs criu in place (no fork): the pid that
  // joins the cgroups is criu's
  const [cmd, ...args] = launcher ? [launcher, ...launcherArgs(join, root, rt.criu, argv, tmpfs)]
    : root ? ['unshare', '--mount', '--propagation', 'private', ...sh] : shell ? sh : [rt.criu, ...argv]
  debug(`run ${rt.criu} ${argv.join(' ')}${cmd === rt.criu ? '' : ` (through ${cmd})`}`)
  const started = Date.now()
  const {code, signal, output} = await new Promise<{code: number | null; signal: NodeJS.Signals | null; output: string}>((resolve, reject) => {
    // its own process group: a terminal's Ctrl-C meant for ocirt must not kill criu in the middle of a dump (the
    // parasite would stay in the tasks); ocirt decides what to do with it
    const child = spawn(cmd, args, {stdio, env, detached: true})
    const kill = () => child.kill('SIGKILL')
    opts.signal?.addEventListener('abort', kill, {once: true})
    child.once('close', () => opts.signal?.removeEventListener('abort', kill))
    let output = ''
    child.stdout?.on('data', (b: Buffer) => (output += b.toString()))
    child.stderr?.on('data', (b: Buffer) => (output += b.toString()))
    child.once('error', reject)
    child.once('close', (c, s) => resolve({code: c, signal: s, output}))
  }).catch((err: NodeJS.ErrnoException) => {
    const why = err.code === 'ENOENT' ? 'not found' : err.message
    throw new CriuFailed(`criu binary ${rt.criu}: ${why}; ${INSTALL_HINT}`, {...opts.ctx, step: opts.ctx.step ?? 'run criu'})
  })
  debug(`criu ${argv[0]} exited ${code ?? signal} after ${Date.now() - started} ms`)
  if (code === 0) return
  if (code === JOIN_FAILED && join.length) {
    throw new CriuFailed(`cannot move criu into the container's cgroup: ${output.trim()}`, {...opts.ctx, step: 'join cgroup'})
  }
  if (code === ROOT_FAILED && root) {
    throw new CriuFailed(`cannot prepare criu's mount namespace (the rootfs ${root.rootfs} bound, tmpfs mounts built): ${output.trim()}`, {...opts.ctx, step: 'mount criu root'})
  }
  const how = signal ? `was killed by ${signal}` : `exited with status ${code}`
  const said = output.trim() ? `; it said: ${lastLines(output, 3).join(' | ')}` : ''
  throw new CriuFailed(`criu ${argv[0]} ${how}${said}${logTail(opts.logFile)}`, opts.ctx, opts.logFile)
}

/** The service is up, was started with these very fds and takes this command line; otherwise criu is spawned. */
async function serviceCanRun(service: CriuService, argv: string[], opts: RunCriuOptions): Promise<boolean> {
  const fds = opts.extraFds ?? []
  if (service.used || opts.joinCgroupProcs?.length || opts.bindRoot || opts.tmpfs?.length) return false
  if (fds.length !== service.fds.length || fds.some((fd, i) => fd !== service.fds[i]) || !requestFromArgv(argv)) return false
  try {
    await service.ready
  } catch (err) {
    debug(`criu swrk not used: ${(err as Error).message}`)
    return false
  }
  // it may have gone since it answered
  if (!service.available) debug('criu swrk not used: it is gone')
  return service.available
}

// the launcher's exit codes too (native/criu-launch.c)
const JOIN_FAILED = 125
const ROOT_FAILED = 124
// without the launcher: $0 is "criu"; "$@" is the criu binary and its argv. The mounts happen in criu's own mount
// namespace when OCIRT_CRIU_ROOT is set (runCriu starts the shell through unshare then), so nothing is left to unmount.
const PREPARE_AND_EXEC = `IFS='
'
for f in $OCIRT_CRIU_JOIN; do echo $$ > "$f" || exit ${JOIN_FAILED}; done
if [ -n "$OCIRT_CRIU_ROOT" ]; then
  mount --rbind "$OCIRT_CRIU_ROOTFS" "$OCIRT_CRIU_ROOT" || exit ${ROOT_FAILED}
  if [ -n "$OCIRT_CRIU_ROOT_RO" ]; then mount -o remount,bind,ro "$OCIRT_CRIU_ROOT" || exit ${ROOT_FAILED}; fi
fi
set -f
for t in $OCIRT_CRIU_TMPFS; do
  m=\${t%%|*}; r=\${t#*|}; n=\${r%%|*}; r=\${r#*|}; w=\${r%%|*}; d=\${r#*|}
  if [ "$w" = ro ]; then o=rw; else o=$w; fi
  mount -t tmpfs -o "mode=$m,$o" tmpfs "$d" || exit ${ROOT_FAILED}
  IFS=/
  for x in $n; do mkdir -m 755 "$d/$x" || exit ${ROOT_FAILED}; done
  IFS='
'
  if [ "$w" = ro ]; then mount -o remount,ro "$d" || exit ${ROOT_FAILED}; fi
done
unset OCIRT_CRIU_JOIN OCIRT_CRIU_ROOTFS OCIRT_CRIU_ROOT OCIRT_CRIU_ROOT_RO OCIRT_CRIU_TMPFS
exec "$@"`

// harmless on machines whose root lacks CAP_SYS_RESOURCE (MACHINE.md): never the reason a dump failed
const NOISE = /Can't setup RLIMIT_NOFILE for self/

/** "\n<last lines of the log, errors first>\n(criu log: PATH)": what runc's logCriuErrors shows, inline. */
export function logTail(logFile: string, lines = 8): string {
  let text: string
  try {
    text = fs.readFileSync(logFile, 'utf8')
  } catch {
    return ` (no criu log at ${logFile})`
  }
  const all = text.split('\n').filter((l) => l.trim() && !NOISE.test(l))
  const errors = all.filter((l) => /\bError\b/.test(l)).slice(-3)
  const tail = all.slice(-lines).filter((l) => !errors.includes(l))
  return `\n${[...errors, ...(tail.length ? ['...', ...tail] : [])].join('\n')}\n(criu log: ${path.resolve(logFile)})`
}

export function lastLines(text: string, n: number): string[] {
  return text.trim().split('\n').filter((l) => l.trim() && !NOISE.test(l)).slice(-n)
}
