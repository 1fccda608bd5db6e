// A `criu restore` started before its images exist, held at its gate (gate.ts): the launcher (launcher.ts) has made
// its mount namespace (the rootfs bound, the tmpfs skeletons built), it holds the fds the restored tree inherits, and
// the loader has loaded criu and its libraries. A migration's target starts it while the bundle streams; the restore
// in the freeze then writes criu's options into the configuration file the held process was started with
// (`criu restore -v4 --config FILE`), moves it into the container's cgroups and lets it go. That spares the freeze
// this process's fork, the execs after the launcher's (on this project's machines criu's static wrapper and
// trixie's loader) and the loading of ~20 libraries.
//
// runCriu (client.ts) uses it only when it was started for exactly what the restore asks: the same rootfs bind, the
// same tmpfs skeletons, the same files as its fds 3, 4, ... (device, inode, access mode), the host's mounts as they
// were when it started (its mount namespace is a copy of them), no CRIU default configuration file (`--config` makes
// criu skip them, a spawned criu reads them), and options a configuration file can carry. Otherwise it is stopped
// and criu spawned as always; so it is when it is found gone before it could be let go.
import {spawn, type ChildProcess} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type {Duplex} from 'node:stream'
import {wrapSysError, type ErrorContext} from '../errors'
import {debug} from '../log'
import type {Runtime} from '../runtime'
import {CriuFailed, lastLines, logTail, type RootBind, type TmpfsBuild} from './client'
import {GateEnd, gateLibrary, gatedEnv, GATE_CLOSED_STATUS} from './gate'
import {criuLauncher, launcherArgs} from './launcher'
import {fdinfoFlags} from './plan'
import {configLines} from './rpc'
import {withCriuTar} from './tar-shim'
import {skeletonKey} from './tmpfs-skeleton'

export interface HeldRestoreSetup {
  root: RootBind
  tmpfs: TmpfsBuild[]
  /** our fds the held criu gets as its 3, 4, ... (what the restored tree inherits) */
  fds: number[]
  /** where its configuration file goes (written when it is let go) */
  configFile: string
}

/** The part of a restore's command line that the held process was started with. */
const VERB = 'restore'
const VERBOSITY = '-v4'
/** short options and the configuration file's names for them */
const SHORT: Record<string, string> = {'-D': 'images-dir', '-W': 'work-dir', '-o': 'log-file'}
/** the access mode and append flag of an open file (what an inherited fd must have as the restore's own has it) */
const ACCESS_FLAGS = 0o3 | 0o2000

export class HeldCriu {
  private output = ''
  /** stopped, or handed to a restore: not to be let go again */
  private done = false
  /** let go for a restore */
  ran = false
  private readonly exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>
  private readonly gate: GateEnd

  private constructor(private readonly child: ChildProcess, gateEnd: Duplex, readonly setup: HeldRestoreSetup, private readonly mounts: string) {
    this.gate = new GateEnd(gateEnd)
    child.stdout?.on('data', (b: Buffer) => (this.output += b.toString()))
    child.stderr?.on('data', (b: Buffer) => (this.output += b.toString()))
    this.exited = new Promise((resolve) => {
      child.once('error', () => resolve({code: null, signal: null}))
      child.once('close', (code, signal) => resolve({code, signal}))
    })
  }

  /** Starts it; undefined where it cannot be held (whyNotHere says why). */
  static start(rt: Runtime, s: HeldRestoreSetup): HeldCriu | undefined {
    const gate = gateLibrary()
    const launcher = criuLauncher()
    if (!gate || !launcher || defaultConfig()) return undefined
    const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8')
    const gateFd = 3 + s.fds.length
    const child = spawn(launcher, launcherArgs([], s.root, rt.criu, [VERB, VERBOSITY, '--config', s.configFile], s.tmpfs), {
      stdio: ['ignore', 'pipe', 'pipe', ...s.fds, 'pipe'],
      env: gatedEnv(withCriuTar(process.env), gate, gateFd),
      // its own process group, as runCriu's criu
      detached: true,
    })
    debug(`criu restore ${child.pid} started ahead of time, held at its gate`)
    return new HeldCriu(child, child.stdio[gateFd] as Duplex, s, mounts)
  }

  /** Why no restore can be held here, or undefined: the gate library and the launcher are built, no default config. */
  static whyNotHere(): string | undefined {
    if (!gateLibrary()) return 'no gate library (native/build/criu-gate.so), or OCIRT_CRIU_GATE=0'
    if (!criuLauncher()) return 'no native/build/ocirt-criu-launch'
    const conf = defaultConfig()
    return conf ? `criu would read ${conf}, which a held criu (--config) skips` : undefined
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  private get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** started, not ended, neither stopped nor let go: it waits at its gate, or is on its way there */
  get live(): boolean {
    return !this.done && this.alive
  }

  /** it waits at its gate: it said so, has not ended since, and was neither stopped nor let go */
  get held(): boolean {
    return !this.done && this.gate.confirmedHeld && this.alive
  }

  /** Why this held criu cannot run that restore, or undefined when it can. */
  whyNot(argv: string[], o: {extraFds: number[]; bindRoot?: RootBind; tmpfs: TmpfsBuild[]}): string | undefined {
    if (!this.held) return this.done ? 'stopped or used already' : this.alive ? 'it never said it waits at its gate' : `it ended (${this.ending()})`
    const s = this.setup
    const r = o.bindRoot
    if (!r || r.rootfs !== s.root.rootfs || r.target !== s.root.target || r.readonly !== s.root.readonly) return 'another root bind'
    const sameTmpfs = o.tmpfs.length === s.tmpfs.length &&
      o.tmpfs.every((t, i) => t.dir === s.tmpfs[i].dir && skeletonKey(t.skeleton) === skeletonKey(s.tmpfs[i].skeleton))
    if (!sameTmpfs) return 'other tmpfs skeletons'
    if (o.extraFds.length !== s.fds.length) return `${o.extraFds.length} inherited fds, not ${s.fds.length}`
    for (let i = 0; i < o.extraFds.length; i++) {
      if (!sameOpenFile(o.extraFds[i], this.child.pid!, 3 + i)) return `another file or access mode as fd ${3 + i}`
    }
    if (fs.readFileSync('/proc/self/mountinfo', 'utf8') !== this.mounts) return "the host's mounts changed since it started"
    const conf = defaultConfig()
    if (conf) return `criu would read ${conf}, which a held criu (--config) skips`
    if (configFromArgv(argv) === undefined) return 'options its configuration file cannot carry'
    return undefined
  }

  /**
   * Joins the cgroups, writes the options, lets it go; resolves true when criu exits 0, false when it was found gone
   * before it could be let go (the caller spawns criu instead: nothing was done). whyNot must have said yes.
   */
  async run(argv: string[], o: {join: string[]; logFile: string; ctx: ErrorContext}): Promise<boolean> {
    const config = configFromArgv(argv)
    if (config === undefined) throw new Error('HeldCriu.run: argv cannot go in a configuration file')
    this.done = true
    try {
      for (const procs of o.join) fs.writeFileSync(procs, `${this.child.pid}\n`)
    } catch (err) {
      this.kill()
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false // it died since whyNot
      throw new CriuFailed(`cannot move the held criu restore into the container's cgroup: ${(err as Error).message}`, {...o.ctx, step: 'join cgroup'})
    }
    try {
      fs.writeFileSync(this.setup.configFile, config, {mode: 0o600})
    } catch (err) {
      this.kill()
      throw wrapSysError(err, {...o.ctx, step: `write criu's options to ${this.setup.configFile}`})
    }
    const started = Date.now()
    this.ran = true
    this.gate.open()
    const {code, signal} = await this.exited
    debug(`criu restore (held) exited ${code ?? signal} after ${Date.now() - started} ms`)
    if (code === 0) return true
    // its gate closed before the byte arrived: criu never ran
    if (code === GATE_CLOSED_STATUS) {
      this.ran = false
      return false
    }
    const said = this.output.trim() ? `; it said: ${lastLines(this.output, 3).join(' | ')}` : ''
    throw new CriuFailed(`criu restore ${signal ? `was killed by ${signal}` : `exited with status ${code}`}${said}${logTail(o.logFile)}`, o.ctx, o.logFile)
  }

  /** Ends it, unless it was let go (then it is the restore's to finish). */
  stop(): void {
    if (this.ran) return
    this.done = true
    this.kill()
  }

  private kill(): void {
    if (this.alive) this.child.kill('SIGKILL')
  }

  private ending(): string {
    const how = this.child.signalCode ? `killed by ${this.child.signalCode}` : `status ${this.child.exitCode}`
    return this.output.trim() ? `${how}: ${lastLines(this.output, 2).join(' | ')}` : how
  }
}

/**
 * criu restore's command line as the held process's configuration file: every `--option [value]` a line, -D, -W
 * and -o by their long names. Undefined when it cannot go so: not a restore at -v4 (the held command line), another
 * short option, a value CRIU's configuration parser would split or misread.
 */
export function configFromArgv(argv: string[]): string | undefined {
  if (argv[0] !== VERB || !argv.includes(VERBOSITY)) return undefined
  const lines = configLines(argv, (a, value, out) => {
    if (a === VERBOSITY) return 'taken'
    const long = SHORT[a]
    if (long === undefined) return 'line'
    const v = value()
    if (v === undefined) return 'refused'
    out.push(`${long} ${v}`)
    return 'taken'
  })
  return lines && `${lines.join('\n')}\n`
}

/** A CRIU default configuration file a spawned criu would read (CRIU's config.c), or undefined. */
function defaultConfig(): string | undefined {
  if (process.env.CRIU_CONFIG_FILE) return `$CRIU_CONFIG_FILE (${process.env.CRIU_CONFIG_FILE})`
  return ['/etc/criu/default.conf', path.join(os.homedir(), '.criu', 'default.conf')].find((f) => fs.existsSync(f))
}

/** Our fd and the held process's fd are one file (device, inode) opened with the same access mode and append flag. */
function sameOpenFile(fd: number, pid: number, theirs: number): boolean {
  try {
    const a = fs.fstatSync(fd)
    const b = fs.statSync(`/proc/${pid}/fd/${theirs}`)
    if (a.dev !== b.dev || a.ino !== b.ino) return false
    const flags = (f: string) => fdinfoFlags(fs.readFileSync(f, 'utf8')) & ACCESS_FLAGS
    return flags(`/proc/self/fdinfo/${fd}`) === flags(`/proc/${pid}/fdinfo/${theirs}`)
  } catch {
    return false
  }
}

/** The directories a held restore's setup uses inside `dir` (made here, empty): the root bind's target, one per tmpfs. */
export function heldDirs(dir: string, tmpfsCount: number): {root: string; tmpfs: string[]} {
  fs.mkdirSync(dir, {recursive: true, mode: 0o700})
  const root = path.join(dir, 'criu-root')
  fs.mkdirSync(root, {mode: 0o755}) // as criuRootBind (rootfs.ts)
  const tmpfs = Array.from({length: tmpfsCount}, (_, i) => path.join(dir, `criu-tmpfs-${i}`))
  for (const t of tmpfs) fs.mkdirSync(t, {mode: 0o700})
  return {root, tmpfs}
}
