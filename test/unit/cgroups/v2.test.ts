// The v2 manager against a fake unified cgroupfs: controller delegation, apply with conversions and fallbacks,
// freeze via cgroup.freeze/cgroup.events, cgroup.kill, stats, and a destroy that removes only what create made.
import {after, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {detectCgroupMode, openCgroup} from '../../../src/core/cgroups/index'
import {DisabledManager} from '../../../src/core/cgroups/disabled'
import {V2Manager, type DeviceFilterFn, type V2Options} from '../../../src/core/cgroups/v2'
import type {LinuxDeviceCgroup} from '../../../src/core/cgroups/types'
import {StepFailed} from '../../../src/core/errors'
import {fakeV1, fakeV2, read, tmpRoot} from './fakefs'

const roots: string[] = []
after(() => roots.forEach((r) => fs.rmSync(r, {recursive: true, force: true})))

interface FilterCall {
  dir: string
  rules: readonly LinuxDeviceCgroup[]
  fresh?: boolean
}

function setup(cgroupPath: string, procCgroup = '0::/user.slice/session-1.scope\n', extra: Partial<V2Options> = {}) {
  const root = tmpRoot('v2')
  roots.push(root)
  const dirOps = fakeV2(root)
  const filters: FilterCall[] = [] // a fake tree is no cgroup2 directory: record what would be attached
  const deviceFilter: DeviceFilterFn = (dir, rules, opts) => void filters.push({dir, rules, fresh: opts.fresh})
  return {root, m: new V2Manager(cgroupPath, {id: 'c1', verb: 'create', root, procCgroup, dirOps, deviceFilter, ...extra}), dirOps, filters}
}

describe('V2Manager', () => {
  it('anchors a relative path at the parent of the runtime cgroup; an absolute one at the root', () => {
    const {root, m} = setup('c1')
    assert.equal(m.paths()[''], path.join(root, 'user.slice/c1'))
    assert.equal(setup('/a/b').m.dir.endsWith('/a/b'), true)
  })

  it('creates with controllers delegated at every level, applies, joins and destroys only what it made', () => {
    const {root, m, filters} = setup('/kubepods/pod1/c1')
    fs.mkdirSync(path.join(root, 'kubepods')) // pre-existing parent (made outside the fake: no files)
    fs.writeFileSync(path.join(root, 'kubepods/cgroup.controllers'), 'cpuset cpu io memory hugetlb pids')
    fs.writeFileSync(path.join(root, 'kubepods/cgroup.subtree_control'), '')
    m.create()
    assert.equal(read(root, 'cgroup.subtree_control'), '+cpuset +cpu +io +memory +hugetlb +pids')
    assert.equal(read(root, 'kubepods/pod1/cgroup.subtree_control'), '+cpuset +cpu +io +memory +hugetlb +pids')
    assert.equal(read(m.dir, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids')

    m.apply({memory: {limit: 1 << 20, swap: 3 << 20, reservation: 1 << 19}, cpu: {shares: 1024, quota: 50000},
      pids: {limit: -1}, blockIO: {weight: 100}, hugepageLimits: [{pageSize: '2MB', limit: 4 << 20}],
      unified: {'memory.high': '900000'}, devices: [{allow: false}]})
    assert.equal(read(m.dir, 'memory.max'), '1048576')
    assert.equal(read(m.dir, 'memory.swap.max'), '2097152')
    assert.equal(read(m.dir, 'memory.low'), '524288')
    assert.equal(read(m.dir, 'cpu.weight'), '39')
    assert.equal(read(m.dir, 'cpu.max'), '50000 100000')
    assert.equal(read(m.dir, 'pids.max'), 'max')
    assert.equal(read(m.dir, 'io.weight'), '910', 'no io.bfq.weight: converted io.weight')
    assert.equal(read(m.dir, 'hugetlb.2MB.max'), '4194304')
    assert.equal(read(m.dir, 'memory.high'), '900000')
    assert.deepEqual(filters, [{dir: m.dir, rules: [{allow: false}], fresh: true}], 'device rules go to the eBPF filter')

    m.addProcess(777)
    assert.equal(read(m.dir, 'cgroup.procs'), '777')
    assert.deepEqual(m.pids(), [777])
    fs.writeFileSync(path.join(m.dir, 'cgroup.procs'), '')
    m.destroy()
    assert.equal(fs.existsSync(path.join(root, 'kubepods/pod1')), false, 'made parent removed')
    assert.equal(fs.existsSync(path.join(root, 'kubepods')), true, 'pre-existing parent kept')
    assert.equal(m.exists(), false)
    m.destroy()
  })

  it('names a controller that is not delegated, and honours checkBeforeUpdate', () => {
    const {m} = setup('/c2')
    m.create()
    fs.writeFileSync(path.join(m.dir, 'cgroup.controllers'), 'cpu memory pids')
    assert.throws(() => m.apply({cpu: {cpus: '0'}}), {message: /^create c1: apply cgroup resources: cannot set cpuset\.cpus: the cpuset controller is not available/})
    fs.writeFileSync(path.join(m.dir, 'memory.current'), '5000\n')
    assert.throws(() => m.apply({memory: {limit: 4096, checkBeforeUpdate: true}}), /rejecting memory limit 4096 below current usage 5000/)
    m.apply({memory: {limit: 4096}})
    assert.equal(read(m.dir, 'memory.max'), '4096')
  })

  it('freezes via cgroup.freeze and waits for cgroup.events', () => {
    const {m} = setup('/c3')
    m.create()
    fs.writeFileSync(path.join(m.dir, 'cgroup.events'), 'populated 1\nfrozen 1\n') // what the kernel will report
    m.setFrozen(true)
    assert.equal(read(m.dir, 'cgroup.freeze'), '1')
    assert.equal(m.isFrozen(), true)
    fs.writeFileSync(path.join(m.dir, 'cgroup.events'), 'populated 1\nfrozen 0\n')
    m.setFrozen(false)
    assert.equal(m.isFrozen(), false)
  })

  it('killAll(SIGKILL) uses cgroup.kill; other signals go to each listed pid', async () => {
    const {m} = setup('/c4')
    m.create()
    m.killAll(9)
    assert.equal(read(m.dir, 'cgroup.kill'), '1')
    const child = spawn('sleep', ['30'], {stdio: 'ignore'})
    try {
      const exited = new Promise<string | null>((resolve) => child.on('exit', (_c, sig) => resolve(sig)))
      fs.writeFileSync(path.join(m.dir, 'cgroup.procs'), `${child.pid}\n`)
      fs.rmSync(path.join(m.dir, 'cgroup.events')) // no events file: the freeze does not wait
      m.killAll(15)
      assert.equal(await exited, 'SIGTERM')
      assert.equal(read(m.dir, 'cgroup.freeze'), '0', 'thawed after signalling')
    } finally {
      child.kill('SIGKILL')
    }
  })

  it('device rules: none leave the filter alone; a reopened cgroup is not fresh; rootless ignores kernel refusals', () => {
    const {root, m, filters} = setup('/c1')
    m.create()
    m.apply({pids: {limit: 5}, devices: []})
    assert.equal(filters.length, 0, 'no rules: nothing to attach, as v1 writes nothing')
    m.apply({devices: [{allow: false}]})
    m.apply({devices: [{allow: true}]})
    assert.deepEqual(filters.map((f) => f.fresh), [true, false], 'after a first program, the cgroup is no longer fresh')
    const saved: FilterCall[] = []
    const again = new V2Manager('', {id: 'c1', verb: 'update', dir: m.dir, root,
      deviceFilter: (dir, rules, opts) => void saved.push({dir, rules, fresh: opts.fresh})})
    again.apply({devices: [{allow: true, type: 'c', major: 1, minor: 3}]})
    assert.deepEqual(saved, [{dir: m.dir, rules: [{allow: true, type: 'c', major: 1, minor: 3}], fresh: false}])

    const refuse: DeviceFilterFn = () => {
      throw new StepFailed('BPF_PROG_LOAD failed', {id: 'c1', step: 'apply cgroup device rules', errno: 'EPERM'})
    }
    const rootful = new V2Manager('', {id: 'c1', verb: 'create', dir: m.dir, root, deviceFilter: refuse})
    assert.throws(() => rootful.apply({devices: [{allow: false}]}), /apply cgroup device rules: BPF_PROG_LOAD failed: EPERM/)
    const rootless = new V2Manager('', {id: 'c1', verb: 'create', dir: m.dir, root, deviceFilter: refuse, rootless: true})
    rootless.apply({devices: [{allow: false}], pids: {limit: 7}}) // runc: device errors are expected rootless
    assert.equal(read(m.dir, 'pids.max'), '7')
  })

  it('reads stats', () => {
    const {m} = setup('/c5')
    m.create()
    fs.writeFileSync(path.join(m.dir, 'cpu.stat'), 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\n')
    fs.writeFileSync(path.join(m.dir, 'memory.current'), '8192\n')
    const s = m.stats()
    assert.deepEqual(s.cpu, {usage: {total: 1500000, kernel: 500000, user: 1000000}, throttling: {periods: 4}})
    assert.equal(s.memory.usage.usage, 8192)
    assert.equal(s.memory.usage.limit, 18446744073709551615n)
    assert.deepEqual(s.hugetlb, {'2MB': {failcnt: 0}})
    assert.deepEqual(s.cpuset.cpus, [0, 1, 2, 3])
  })
})

describe('detectCgroupMode and openCgroup', () => {
  it('tells v2, hybrid and v1 apart', () => {
    const v2 = tmpRoot('m2')
    const hy = tmpRoot('mh')
    const v1 = tmpRoot('m1')
    roots.push(v2, hy, v1)
    fakeV2(v2)
    fakeV1(hy)
    assert.equal(detectCgroupMode(v2), 'v2')
    assert.equal(detectCgroupMode(hy), 'hybrid')
    assert.equal(detectCgroupMode(v1), 'v1')
    const m = openCgroup('/x', {id: 'x', rootless: false, root: v2, procCgroup: '0::/\n'})
    assert.ok(m instanceof V2Manager)
    assert.deepEqual(m.paths(), {'': path.join(v2, 'x')})
  })

  it('a disabled (rootless, not delegated) manager is inert until limits are asked for', () => {
    const d = new DisabledManager('v2', {verb: 'create', id: 'r1'})
    d.create()
    d.addProcess(1)
    d.apply({devices: [{allow: false}]})
    assert.equal(d.exists(), false)
    assert.deepEqual(d.paths(), {})
    assert.throws(() => d.apply({pids: {limit: 5}}),
      {message: 'create r1: apply cgroup resources: cannot set pids limit: container could not join or create cgroup'})
    assert.throws(() => new DisabledManager('v1', {id: 'r2'}, 'no permission').create(), {message: 'r2: create cgroup: no permission: EACCES'})
  })
})
