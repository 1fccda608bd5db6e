// A `criu restore` started before its images exist, held at its gate (gate.ts): the launcher (launcher.ts) has made
// its mount namespace (the rootfs bound, the tmpfs skeletons built), it holds the fds the restored tree inherits, and
// the loader has loaded criu and its libraries. A migration's target starts it while the bundle streams; the restore
// in the freeze then writes criu's options into the configuration file the held process was started with
// (`criu restore -v4 --config FILE`), moves it into the container's cgroups and lets it go. That spares the freeze
// this process's fork, three execs (launcher, criu's wrapper, its loader) and the loading of ~20 libraries.
//
// runCriu (client.ts) uses it only when it was started for exactly what the restore asks: the same rootfs bind, the
// same tmpfs skeletons, the same files as its fds 3, 4, ... (compared by device and inode), options the
// configuration file can carry. Otherwise it is stopped and criu spawned as always.
import {spawn, type ChildProcess} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type {Duplex} from 'node:stream'
import type {ErrorContext} from '../errors'
import {debug} from '../log'
import type {Runtime} from '../runtime'
import {CriuFailed, lastLines, logTail, type RootBind, type TmpfsBuild} from './client'
import {gateLibrary, gatedEnv, GATE_CLOSED_STATUS, GO, HELD_BYTE} from './gate'
import {criuLauncher, launcherArgs} from './launcher'
import {plainWord} from './rpc'
import {skeletonKey} from './tmpfs-skeleton'
import {withCriuTar} from './tar-shim'

export interface HeldRestoreSetup {
  root: RootBind
  tmpfs: TmpfsBuild[]
  /** our fds the held criu gets as its 3, 4, ... (what the restored tree inherits) */
  fds: number[]
  /** where its configuration file goes (written when it is let go) */
  configFile: string
}

/** The part of a restore's command line that the held process was started with. */
const FIXED = ['restore', '-v4']
/** short options and the configuration file's names for them */
const SHORT: Record<string, string> = {'-D': 'images-dir', '-W': 'work-dir', '-o': 'log-file'}

export class HeldCriu {
  private confirmed = false
  private output = ''
  private used = false
  private letGo = false
  private readonly exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>

  private constructor(private readonly child: ChildProcess, private readonly gateEnd: Duplex, readonly setup: HeldRestoreSetup) {
    gateEnd.on('error', () => undefined) // a criu gone shows in `exited`
    gateEnd.once('data', (b: Buffer) => (this.confirmed = b[0] === HELD_BYTE))
    child.stdout?.on('data', (b: Buffer) => (this.output += b.toString()))
    child.stderr?.on('data', (b: Buffer) => (this.output += b.toString()))
    this.exited = new Promise((resolve) => {
      child.once('error', () => resolve({code: null, signal: null}))
      child.once('close', (code, signal) => resolve({code, signal}))
    })
  }

  /** Starts it; undefined where it cannot be held (no gate library or no launcher built). */
  static start(rt: Runtime, s: HeldRestoreSetup): HeldCriu | undefined {
    const gate = gateLibrary()
    const launcher = criuLauncher()
    if (!gate || !launcher) return undefined
    const gateFd = 3 + s.fds.length
    const child = spawn(launcher, launcherArgs([], s.root, rt.criu, [...FIXED, '--config', s.configFile], s.tmpfs), {
      stdio: ['ignore', 'pipe', 'pipe', ...s.fds, 'pipe'],
      env: gatedEnv(withCriuTar(process.env), gate, gateFd),
      // its own process group, as runCriu's criu
      detached: true,
    })
    debug(`criu restore ${child.pid} started ahead of time, held at its gate`)
    return new HeldCriu(child, child.stdio[gateFd] as Duplex, s)
  }

  /** it was let go for a restore */
  get ran(): boolean {
    return this.letGo
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  /** it said it waits at its gate and has not ended since (a preload that did not take never says so) */
  get held(): boolean {
    return this.confirmed && !this.used && this.child.exitCode === null && this.child.signalCode === null
  }

  /** Why this held criu cannot run that restore, or undefined when it can. */
  whyNot(argv: string[], o: {extraFds: number[]; bindRoot?: RootBind; tmpfs: TmpfsBuild[]}): string | undefined {
    if (!this.held) return this.used ? 'used already' : 'not waiting at its gate'
    const s = this.setup
    const r = o.bindRoot
    if (!r || r.rootfs !== s.root.rootfs || r.target !== s.root.target || r.readonly !== s.root.readonly) return 'another root bind'
    const sameTmpfs = o.tmpfs.length === s.tmpfs.length &&
      o.tmpfs.every((t, i) => t.dir === s.tmpfs[i].dir && skeletonKey(t.skeleton) === skeletonKey(s.tmpfs[i].skeleton))
    if (!sameTmpfs) return 'other tmpfs skeletons'
    if (o.extraFds.length !== s.fds.length) return `${o.extraFds.length} inherited fds, not ${s.fds.length}`
    for (let i = 0; i < o.extraFds.length; i++) {
      if (!sameFile(o.extraFds[i], `/proc/${this.child.pid}/fd/${3 + i}`)) return `another file as fd ${3 + i}`
    }
    if (configFromArgv(argv) === undefined) return 'options its configuration file cannot carry'
    return undefined
  }

  /** Joins the cgroups, writes the options, lets it go; resolves when criu exits 0. whyNot must have said yes. */
  async run(argv: string[], o: {join: string[]; logFile: string; ctx: ErrorContext}): Promise<void> {
    const config = configFromArgv(argv)
    if (config === undefined) throw new Error('HeldCriu.run: argv cannot go in a configuration file')
    this.used = true
    try {
      for (const procs of o.join) fs.writeFileSync(procs, `${this.child.pid}\n`)
    } catch (err) {
      this.stop()
      throw new CriuFailed(`cannot move the held criu into the container's cgroup: ${(err as Error).message}`, {...o.ctx, step: 'join cgroup'})
    }
    fs.writeFileSync(this.setup.configFile, config, {mode: 0o600})
    const started = Date.now()
    this.letGo = true
    this.gateEnd.end(GO)
    const {code, signal} = await this.exited
    debug(`criu restore (held) exited ${code ?? signal} after ${Date.now() - started} ms`)
    if (code === 0) return
    const how = code === GATE_CLOSED_STATUS ? 'ended at its gate' : signal ? `was killed by ${signal}` : `exited with status ${code}`
    const said = this.output.trim() ? `; it said: ${lastLines(this.output, 3).join(' | ')}` : ''
    throw new CriuFailed(`criu restore ${how}${said}${logTail(o.logFile)}`, o.ctx, o.logFile)
  }

  /** Ends it, unless it was let go (then it is the restore's to finish). */
  stop(): void {
    if (this.letGo) return
    this.used = true
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
  }
}

/**
 * criu restore's command line as the held process's configuration file: every `--option [value]` a line, -D, -W
 * and -o by their long names. Undefined when it cannot go so: not a restore at -v4 (the held command line), another
 * short option, a value CRIU's configuration parser would split or misread.
 */
export function configFromArgv(argv: string[]): string | undefined {
  if (argv[0] !== FIXED[0] || !argv.includes(FIXED[1])) return undefined
  const lines: string[] = []
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]
    if (a === FIXED[1]) continue
    if (SHORT[a] !== undefined) {
      const v = argv[++i]
      if (v === undefined) return undefined
      lines.push(`${SHORT[a]} ${v}`)
    } else if (a === '--config') return undefined
    else if (a.startsWith('--') && a.length > 2) lines.push(a.slice(2))
    else if (!a.startsWith('-') && lines.length) lines[lines.length - 1] += ` ${a}`
    else return undefined
    if (!plainWord(argv[i])) return undefined
  }
  return `${lines.join('\n')}\n`
}

function sameFile(fd: number, other: string): boolean {
  try {
    const a = fs.fstatSync(fd)
    const b = fs.statSync(other)
    return a.dev === b.dev && a.ino === b.ino
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
