// The cgroup manager on the real kernel (root): create, apply limits and read them back from the kernel files,
// join a `sleep`, freeze/thaw, killAll while frozen, stats, destroy. Cleans up after itself, also on failure.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {detectCgroupMode, openCgroup, reopenCgroup, resolveCgroupsPath} from '../../src/core/cgroups/index'
import type {CgroupManager} from '../../src/core/cgroups/manager'
import {parseProcCgroup} from '../../src/core/cgroups/paths'
import {V2Manager} from '../../src/core/cgroups/v2'

const MiB = 1024 * 1024
const isRoot = process.getuid?.() === 0
const skip = isRoot ? false : 'needs root (creates cgroups under /sys/fs/cgroup)'

const read = (dir: string, file: string) => fs.readFileSync(path.join(dir, file), 'utf8').trim()

function uniqueId(): string {
  return `ocirt-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
}

function exitOf(child: ChildProcess, ms: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.signalCode)
    const timer = setTimeout(() => reject(new Error(`pid ${child.pid} still alive after ${ms} ms`)), ms)
    child.once('exit', (_code, sig) => {
      clearTimeout(timer)
      resolve(sig)
    })
  })
}

/** Best-effort teardown: our child only, thaw, then remove every directory the manager reported. */
function cleanup(m: CgroupManager | undefined, child: ChildProcess | undefined): void {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  if (!m) return
  try {
    if (m.isFrozen()) m.setFrozen(false)
  } catch {}
  try {
    m.destroy()
  } catch {}
  for (const dir of Object.values(m.paths())) {
    try {
      fs.rmdirSync(dir)
    } catch {}
  }
}

test('cgroup manager on the real hierarchy: limits, join, freeze, killAll, destroy', {skip}, async (t) => {
  const id = uniqueId()
  const mode = detectCgroupMode()
  const m = openCgroup(`/${id}`, {id, rootless: false, verb: 'test'})
  let child: ChildProcess | undefined
  t.after(() => cleanup(m, child))
  const v1 = m.version === 'v1'
  const dir = (c: string) => m.paths()[v1 ? c : '']

  m.create()
  for (const [c, d] of Object.entries(m.paths())) assert.ok(fs.existsSync(d), `${c}: ${d}`)
  if (mode === 'hybrid') assert.equal(m.paths()[''], `/sys/fs/cgroup/unified/${id}`)

  m.apply({memory: {limit: 64 * MiB, swap: 128 * MiB}, pids: {limit: 20},
    cpu: {shares: 512, quota: 20000, period: 100000, cpus: '0', mems: '0'}})
  if (v1) {
    assert.equal(read(dir('memory'), 'memory.limit_in_bytes'), String(64 * MiB))
    assert.equal(read(dir('memory'), 'memory.memsw.limit_in_bytes'), String(128 * MiB))
    assert.equal(read(dir('cpu'), 'cpu.shares'), '512')
    assert.equal(read(dir('cpu'), 'cpu.cfs_quota_us'), '20000')
    assert.equal(read(dir('cpu'), 'cpu.cfs_period_us'), '100000')
  } else {
    assert.equal(read(dir('memory'), 'memory.max'), String(64 * MiB))
    assert.equal(read(dir('memory'), 'memory.swap.max'), String(64 * MiB))
    assert.equal(read(dir('cpu'), 'cpu.max'), '20000 100000')
  }
  assert.equal(read(dir('pids'), 'pids.max'), '20')
  assert.equal(read(dir('cpuset'), 'cpuset.cpus'), '0')

  // growing past the old memsw limit needs memsw first, shrinking below the old limit needs limit first:
  // both must work from one table (the EINVAL retry)
  m.apply({memory: {limit: 256 * MiB, swap: 512 * MiB}})
  if (v1) assert.equal(read(dir('memory'), 'memory.limit_in_bytes'), String(256 * MiB))
  m.apply({memory: {limit: 32 * MiB, swap: 48 * MiB}})
  if (v1) assert.equal(read(dir('memory'), 'memory.memsw.limit_in_bytes'), String(48 * MiB))
  m.apply({memory: {limit: -1}})

  child = spawn('sleep', ['30'], {stdio: 'ignore'})
  const pid = child.pid!
  m.addProcess(pid)
  const joined = parseProcCgroup(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'))
  for (const c of Object.keys(m.paths())) assert.equal(joined.get(c), `/${id}`, `joined ${c || 'unified'}`)
  assert.deepEqual(m.pids(), [pid])
  assert.deepEqual(m.pids(true), [pid])
  const stats = m.stats()
  assert.equal(stats.pids.current, 1)
  assert.equal(stats.pids.limit, 20)

  // pause/resume/kill/delete run in later processes: they reopen from the paths recorded in state.json
  const later = reopenCgroup({version: m.version, paths: m.paths()}, {id, rootless: false, verb: 'pause'})
  later.setFrozen(true)
  assert.equal(m.isFrozen(), true)
  if (v1) assert.equal(read(dir('freezer'), 'freezer.state'), 'FROZEN')
  m.setFrozen(false)
  assert.equal(m.isFrozen(), false)
  if (v1) assert.equal(read(dir('freezer'), 'freezer.state'), 'THAWED')

  later.setFrozen(true) // killAll must work on a paused container
  later.killAll(9)
  assert.equal(await exitOf(child, 5000), 'SIGKILL')
  assert.equal(m.isFrozen(), false, 'thawed so that SIGKILL is delivered')

  later.destroy()
  for (const [c, d] of Object.entries(m.paths())) assert.equal(fs.existsSync(d), false, `${c}: ${d} removed`)
  assert.equal(m.exists(), false)
})

test('default cgroupsPath lands under the runtime cgroup of each hierarchy, as runc', {skip}, (t) => {
  const id = uniqueId()
  const m = openCgroup(resolveCgroupsPath(undefined, id, {rootless: false}), {id, rootless: false})
  t.after(() => cleanup(m, undefined))
  const own = parseProcCgroup(fs.readFileSync('/proc/self/cgroup', 'utf8'))
  m.create()
  for (const [c, d] of Object.entries(m.paths())) {
    const base = m.version === 'v2' ? path.posix.dirname(own.get('') ?? '/') : own.get(c) ?? '/'
    assert.ok(d.endsWith(path.posix.join(base, id)), `${c}: ${d} under ${base}`)
    assert.ok(fs.existsSync(d))
  }
  m.destroy()
  for (const d of Object.values(m.paths())) assert.equal(fs.existsSync(d), false)
})

test('v2 manager on the real cgroup2 mount: join, freeze via cgroup.events, cgroup.kill, destroy', {skip}, async (t) => {
  const mode = detectCgroupMode()
  const root = mode === 'v2' ? '/sys/fs/cgroup' : mode === 'hybrid' ? '/sys/fs/cgroup/unified' : undefined
  if (!root) return t.skip('no cgroup2 mount')
  const id = uniqueId()
  const m = new V2Manager(`/${id}`, {id, root})
  let child: ChildProcess | undefined
  t.after(() => cleanup(m, child))
  m.create()
  child = spawn('sleep', ['30'], {stdio: 'ignore'})
  m.addProcess(child.pid!)
  assert.deepEqual(m.pids(), [child.pid])
  m.setFrozen(true)
  assert.match(read(m.dir, 'cgroup.events'), /^frozen 1$/m)
  assert.match(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'), /^State:\s+S/m) // v2 frozen tasks sleep
  m.setFrozen(false)
  assert.match(read(m.dir, 'cgroup.events'), /^frozen 0$/m)
  m.setFrozen(true)
  m.killAll(9)
  assert.equal(await exitOf(child, 5000), 'SIGKILL')
  m.destroy()
  assert.equal(fs.existsSync(m.dir), false)
})
