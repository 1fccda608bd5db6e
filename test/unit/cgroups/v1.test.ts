// The v1 manager against a fake hybrid cgroupfs laid out like this host's: paths, create, cpuset init, apply,
// join, freeze, kill, stats and a destroy that removes only what create made.
import {after, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {openCgroup, reopenCgroup} from '../../../src/core/cgroups/index'
import {V1Manager} from '../../../src/core/cgroups/v1'
import {HOST_MOUNTINFO, HOST_PROC_CGROUP, V1_HIERARCHIES, fakeV1, read, tmpRoot} from './fakefs'

const roots: string[] = []
after(() => roots.forEach((r) => fs.rmSync(r, {recursive: true, force: true})))

function setup(cgroupPath: string) {
  const root = tmpRoot('v1')
  roots.push(root)
  const dirOps = fakeV1(root)
  const m = new V1Manager(cgroupPath, {id: 'c1', root, mountinfo: HOST_MOUNTINFO, procCgroup: HOST_PROC_CGROUP, dirOps})
  return {root, m, dirOps}
}

describe('V1Manager', () => {
  it('puts an absolute path in every hierarchy, the unified one as ""', () => {
    const {root, m} = setup('/ocirt/c1')
    const p = m.paths()
    assert.deepEqual(Object.keys(p), ['', 'blkio', 'cpu', 'cpuacct', 'cpuset', 'devices', 'freezer', 'memory', 'name=systemd', 'pids'])
    assert.equal(p.memory, path.join(root, 'memory/ocirt/c1'))
    assert.equal(p['name=systemd'], path.join(root, 'systemd/ocirt/c1'))
    assert.equal(p[''], path.join(root, 'unified/ocirt/c1'))
  })

  it('anchors a relative path at the runtime cgroup of each hierarchy (runc default <own>/<id>)', () => {
    const {root, m} = setup('c1')
    assert.equal(m.paths().memory, path.join(root, 'memory/process_api/abc/c1'))
    assert.equal(m.paths().cpu, path.join(root, 'cpu/c1'))
  })

  it('shares one dir between co-mounted controllers', () => {
    const root = tmpRoot('v1co')
    roots.push(root)
    const mi = '31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n'
    const m = new V1Manager('/x', {id: 'x', root, mountinfo: mi, procCgroup: '2:cpu,cpuacct:/\n'})
    assert.deepEqual(m.paths(), {cpu: path.join(root, 'cpu,cpuacct/x'), cpuacct: path.join(root, 'cpu,cpuacct/x')})
  })

  it('creates, copies cpuset from the parent at each new level, applies, joins, and destroys only what it made', () => {
    const {root, m} = setup('/ocirt/pod/c1')
    fs.mkdirSync(path.join(root, 'memory/ocirt')) // a parent that someone else made
    assert.equal(m.exists(), false)
    m.create()
    assert.equal(m.exists(), true)
    for (const h of V1_HIERARCHIES) assert.ok(fs.existsSync(path.join(root, h, 'ocirt/pod/c1')), h)
    assert.equal(read(root, 'cpuset/ocirt/cpuset.cpus'), '0-3')
    assert.equal(read(root, 'cpuset/ocirt/pod/c1/cpuset.mems'), '0')

    m.apply({memory: {limit: 1 << 20}, pids: {limit: 10}, cpu: {shares: 512, cpus: '1'},
      blockIO: {weight: 200}, devices: [{allow: false}, {allow: true, type: 'c', major: 1, minor: 3, access: 'rw'}]})
    const c1 = (h: string, f: string) => read(root, h, 'ocirt/pod/c1', f)
    assert.equal(c1('memory', 'memory.limit_in_bytes'), '1048576')
    assert.equal(c1('pids', 'pids.max'), '10')
    assert.equal(c1('cpu', 'cpu.shares'), '512')
    assert.equal(c1('cpuset', 'cpuset.cpus'), '1')
    assert.equal(c1('blkio', 'blkio.bfq.weight'), '200', 'no blkio.weight: BFQ fallback')
    assert.equal(c1('devices', 'devices.allow'), 'c 1:3 rw') // the fake keeps the last write only

    m.addProcess(4242)
    for (const h of V1_HIERARCHIES) assert.equal(c1(h, 'cgroup.procs'), '4242', h)
    assert.deepEqual(m.pids(), [4242])
    fs.writeFileSync(path.join(root, 'freezer/ocirt/pod/c1/cgroup.procs'), '') // the fake pid "exits"

    // a sibling appears under the parent this manager made: destroy must leave that parent alone
    fs.mkdirSync(path.join(root, 'pids/ocirt/pod/other'))
    m.destroy()
    for (const h of V1_HIERARCHIES) assert.equal(fs.existsSync(path.join(root, h, 'ocirt/pod/c1')), false, h)
    assert.equal(fs.existsSync(path.join(root, 'cpu/ocirt')), false, 'made parents are removed')
    assert.equal(fs.existsSync(path.join(root, 'memory/ocirt')), true, 'a pre-existing parent stays')
    assert.equal(fs.existsSync(path.join(root, 'pids/ocirt/pod/other')), true, 'a busy made parent stays')
    m.destroy() // twice is fine
  })

  it('errors naming the file when a controller is not mounted', () => {
    const {m} = setup('/c2')
    m.create()
    assert.throws(() => m.apply({hugepageLimits: [{pageSize: '2MB', limit: 1}]}),
      {message: /^c1: apply cgroup resources: cannot set hugetlb\.2MB\.limit_in_bytes: the hugetlb controller is not available/})
    assert.throws(() => m.apply({network: {classID: 1}}), /net_cls controller is not available/)
    m.apply({memory: {kernelTCP: 5, limit: -1}}) // optional memsw write succeeds here, kmem.tcp exists
    assert.equal(read(m.paths().memory, 'memory.kmem.tcp.limit_in_bytes'), '5')
    assert.equal(read(m.paths().memory, 'memory.memsw.limit_in_bytes'), '-1')
    fs.rmSync(path.join(m.paths().memory, 'memory.memsw.limit_in_bytes')) // a kernel without swap accounting
    m.apply({memory: {limit: -1}})
    assert.throws(() => m.apply({memory: {limit: 5, swap: 10}}), {message: /memory\.memsw\.limit_in_bytes: no such file or directory: ENOENT$/})
    m.destroy()
  })

  it('freezes and thaws through freezer.state', () => {
    const {m} = setup('/c3')
    m.create()
    assert.equal(m.isFrozen(), false)
    m.setFrozen(true)
    assert.equal(read(m.paths().freezer, 'freezer.state'), 'FROZEN')
    fs.writeFileSync(path.join(m.paths().freezer, 'freezer.self_freezing'), '1\n')
    assert.equal(m.isFrozen(), true)
    m.setFrozen(false)
    assert.equal(read(m.paths().freezer, 'freezer.state'), 'THAWED')
    m.destroy()
  })

  it('killAll signals the processes it lists and thaws afterwards', async () => {
    const {m} = setup('/c4')
    m.create()
    const child = spawn('sleep', ['30'], {stdio: 'ignore'})
    try {
      const exited = new Promise<string | null>((resolve) => child.on('exit', (_c, sig) => resolve(sig)))
      fs.writeFileSync(path.join(m.paths().freezer, 'cgroup.procs'), `${child.pid}\n`)
      m.killAll(9)
      assert.equal(await exited, 'SIGKILL')
      assert.equal(read(m.paths().freezer, 'freezer.state'), 'THAWED')
    } finally {
      child.kill('SIGKILL')
    }
  })

  it('reads stats from every hierarchy', () => {
    const {root, m} = setup('/c5')
    m.create()
    fs.writeFileSync(path.join(root, 'pids/c5/pids.current'), '3\n')
    fs.writeFileSync(path.join(root, 'memory/c5/memory.usage_in_bytes'), '4096\n')
    const s = m.stats()
    assert.deepEqual(s.pids, {current: 3})
    assert.equal(s.memory.usage.usage, 4096)
    assert.equal(s.memory.usage.limit, 9223372036854771712n)
  })

  it('reopens from the recorded paths and removes only the leaf', () => {
    const {root, m, dirOps} = setup('/ocirt/c6')
    m.create()
    const again = reopenCgroup({version: 'v1', paths: m.paths()}, {id: 'c1', rootless: false, dirOps})
    assert.deepEqual(again.paths(), m.paths())
    assert.equal(again.exists(), true)
    again.setFrozen(true)
    assert.equal(read(root, 'freezer/ocirt/c6/freezer.state'), 'FROZEN')
    again.setFrozen(false)
    again.destroy()
    assert.equal(fs.existsSync(path.join(root, 'freezer/ocirt/c6')), false)
    assert.equal(fs.existsSync(path.join(root, 'freezer/ocirt')), true, 'a later process does not know who made the parent')
    assert.equal(reopenCgroup({version: 'v1', paths: {}}, {id: 'c1', rootless: true}).exists(), false)
  })

  it('reopened with the recorded madeDirs, destroy removes the parents create made and keeps those it found', () => {
    const {root, m, dirOps} = setup('/ocirt/c7')
    fs.mkdirSync(path.join(root, 'pids/ocirt'))
    m.create()
    const made = m.madeDirs()
    assert.ok(made.includes(path.join(root, 'memory/ocirt')), made.join(' '))
    assert.ok(!made.includes(path.join(root, 'pids/ocirt')), 'a parent that existed is not recorded')
    assert.ok(!made.some((d) => d.endsWith('/c7')), 'leaves are not in madeDirs')
    const again = reopenCgroup({version: 'v1', paths: m.paths(), made}, {id: 'c1', rootless: false, dirOps})
    again.destroy()
    assert.equal(fs.existsSync(path.join(root, 'memory/ocirt')), false, 'the parent create made is gone')
    assert.equal(fs.existsSync(path.join(root, 'pids/ocirt')), true, 'the parent that was there stays')
  })

  it('openCgroup picks v1 on a hybrid tree', () => {
    const root = tmpRoot('open')
    roots.push(root)
    fakeV1(root)
    const m = openCgroup('/x', {id: 'x', rootless: false, root, mountinfo: HOST_MOUNTINFO, procCgroup: HOST_PROC_CGROUP})
    assert.equal(m.version, 'v1')
    assert.equal(m.paths().pids, path.join(root, 'pids/x'))
  })
})
