// Teardown that runs also when a test fails: register what a test creates, as soon as it exists, and
// cleanupFor(t) undoes it all in t.after(). Kinds are undone in a fixed order, whatever the registration
// order: containers (ocirt delete --force), processes, custom steps, mounts, veths, network namespaces,
// cgroups, directories; within a kind, the last registered goes first. Only what was registered is touched:
// processes are killed by their own pid, never by name. Cleanup never throws; problems go to stderr.
import type {ChildProcess} from 'node:child_process'
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {ocirt} from './ocirt'
import {FIXTURES_BUILD, REPO} from './paths'

type Kind = 'container' | 'pid' | 'custom' | 'mount' | 'veth' | 'netns' | 'cgroup' | 'dir'
const ORDER: Kind[] = ['container', 'pid', 'custom', 'mount', 'veth', 'netns', 'cgroup', 'dir']

interface Task {
  kind: Kind
  label: string
  run(): unknown
}

/** Something with an after() hook: a TestContext (t.after) or node:test's own `after`. */
export type AfterHost = {after(fn: () => unknown): void} | ((fn: () => unknown) => void)

export class Cleanup {
  private tasks: Task[] = []

  /** `ocirt --root ROOT delete --force ID`, when ROOT/ID still exists. */
  container(id: string, root: string): this {
    return this.push('container', `container ${id}`, async () => {
      if (!fs.existsSync(path.join(root, id))) return
      const r = await ocirt(['delete', '--force', id], {root, timeoutMs: 30_000})
      if (r.code !== 0) warn(`ocirt delete --force ${id} exited ${r.code}: ${r.stderr.trim()}`)
    })
  }

  /** SIGKILL this process (a pid or a ChildProcess) and wait up to 5 s for it to die. */
  pid(p: number | ChildProcess | undefined): this {
    if (p === undefined) return this
    return this.push('pid', `pid ${typeof p === 'number' ? p : p.pid}`, () => killAndWait(p))
  }

  /** Any other undo step. */
  add(label: string, fn: () => unknown): this {
    return this.push('custom', label, fn)
  }

  /** umount -l TARGET, when it is a mount point. */
  mount(target: string): this {
    return this.push('mount', `mount ${target}`, () => {
      if (mountPoints().includes(path.resolve(target))) run('umount', ['-l', target])
    })
  }

  /** ip link del NAME (in network namespace NETNS if given); the peer end goes with it. */
  veth(name: string, netns?: string): this {
    const ns = netns ? ['-n', netns] : []
    return this.push('veth', `veth ${name}`, () => {
      if (spawnSync('ip', [...ns, 'link', 'show', name], {stdio: 'ignore'}).status === 0) run('ip', [...ns, 'link', 'del', name])
    })
  }

  /** ip netns del NAME. */
  netns(name: string): this {
    return this.push('netns', `netns ${name}`, () => {
      if (fs.existsSync(path.join('/run/netns', name))) run('ip', ['netns', 'del', name])
    })
  }

  /**
   * rmdir a cgroup and its children, deepest first: REL as a cgroupsPath (e.g. "/ocirt-test/abc") in every
   * hierarchy, or one directory given by its full path under /sys/fs/cgroup/.
   */
  cgroup(rel: string): this {
    const full = rel.startsWith('/sys/fs/cgroup/')
    const clean = full ? path.resolve(rel) : rel.replace(/^\/+/, '')
    if (clean === '' || rel.split('/').includes('..') || (full && clean.split('/').length < 6)) {
      throw new Error(`cleanup: refusing cgroup path ${rel}`)
    }
    return this.push('cgroup', `cgroup ${rel}`, () => {
      if (full) return void (fs.existsSync(clean) && removeCgroupTree(clean))
      for (const root of cgroupRoots()) {
        const dir = path.join(root, clean)
        if (fs.existsSync(dir)) removeCgroupTree(dir)
      }
    })
  }

  /** rm -rf DIR, after lazily unmounting anything mounted below it. */
  dir(dir: string): this {
    const abs = path.resolve(dir)
    if (abs.split('/').filter(Boolean).length < 2 || REPO.startsWith(abs + '/') || abs === REPO ||
        abs === FIXTURES_BUILD || abs.startsWith(FIXTURES_BUILD + '/')) {
      throw new Error(`cleanup: refusing to register ${abs} for removal`)
    }
    return this.push('dir', `dir ${abs}`, () => {
      const below = mountPoints().filter((m) => m === abs || m.startsWith(abs + '/'))
      for (const m of below.sort((a, b) => b.length - a.length)) {
        warn(`${m} was still mounted; unmounting it before removing ${abs}`)
        run('umount', ['-l', m])
      }
      fs.rmSync(abs, {recursive: true, force: true})
    })
  }

  /** Undo everything registered so far (each step once). Never throws. */
  async run(): Promise<void> {
    const tasks = this.tasks
    this.tasks = []
    for (const kind of ORDER) {
      for (const task of tasks.filter((t) => t.kind === kind).reverse()) {
        try {
          await task.run()
        } catch (e) {
          warn(`${task.label}: ${(e as Error).message}`)
        }
      }
    }
  }

  private push(kind: Kind, label: string, fn: () => unknown): this {
    this.tasks.push({kind, label, run: fn})
    return this
  }
}

/** A Cleanup whose run() is registered as an after() hook, so it runs also when the test fails. */
export function cleanupFor(t: AfterHost): Cleanup {
  const c = new Cleanup()
  const hook = () => c.run()
  if (typeof t === 'function') t(hook)
  else t.after(hook)
  return c
}

function warn(msg: string): void {
  process.stderr.write(`cleanup: ${msg}\n`)
}

/** Run a command; a failure is reported, not thrown. */
function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, {encoding: 'utf8', timeout: 30_000})
  if (r.error || r.status !== 0) warn(`${cmd} ${args.join(' ')}: ${r.error?.message ?? r.stderr.trim()}`)
}

async function killAndWait(p: number | ChildProcess): Promise<void> {
  if (typeof p !== 'number') {
    if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) return
    let timer: NodeJS.Timeout | undefined
    const exited = new Promise<void>((resolve) => {
      p.once('exit', () => resolve())
      timer = setTimeout(resolve, 5000)
    })
    p.kill('SIGKILL')
    await exited
    clearTimeout(timer)
    if (p.exitCode === null && p.signalCode === null) warn(`pid ${p.pid} still alive 5 s after SIGKILL`)
    return
  }
  try {
    process.kill(p, 'SIGKILL')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return
    throw e
  }
  for (let i = 0; i < 100; i++) {
    if (!isAlive(p)) return
    await sleep(50)
  }
  warn(`pid ${p} still alive 5 s after SIGKILL`)
}

/** Alive = exists and is not a zombie (a zombie is dead; reaping it is its parent's business). */
export function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Fields of /proc/self/mountinfo lines, mount points unescaped. */
function mountinfo(): {mountPoint: string; fsType: string}[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((line) => {
    const fields = line.split(' ')
    const sep = fields.indexOf('-')
    return {mountPoint: unescape(fields[4]), fsType: fields[sep + 1]}
  })
}

function mountPoints(): string[] {
  return mountinfo().map((m) => m.mountPoint)
}

/** Every cgroup hierarchy mounted here (v1 controllers, named hierarchies, cgroup2), each once. */
function cgroupRoots(): string[] {
  const seen = new Set<string>()
  for (const m of mountinfo()) {
    if (m.fsType !== 'cgroup' && m.fsType !== 'cgroup2') continue
    try {
      seen.add(fs.realpathSync(m.mountPoint))
    } catch {}
  }
  return [...seen]
}

/** rmdir DIR's child cgroups, deepest first, then DIR; a v1 freezer cgroup is thawed first. */
function removeCgroupTree(dir: string): void {
  for (const e of fs.readdirSync(dir, {withFileTypes: true})) {
    if (e.isDirectory()) removeCgroupTree(path.join(dir, e.name))
  }
  try {
    const state = path.join(dir, 'freezer.state')
    if (fs.existsSync(state) && fs.readFileSync(state, 'utf8').trim() !== 'THAWED') fs.writeFileSync(state, 'THAWED')
    fs.rmdirSync(dir)
  } catch (e) {
    let procs = ''
    try {
      procs = fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').trim().split('\n').join(',')
    } catch {}
    warn(`rmdir ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}${procs ? ` (processes: ${procs})` : ''}`)
  }
}
