// update: runc's `update` on a live container. The flags (sizes with units) and `--resources -` (LinuxResources
// JSON on stdin, as docker sends it) change the kernel files of the container's v1 cgroup and the saved config;
// a second update merges with the first. A stopped container fails with runc's message; a bad value changes nothing.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {assertOk} from '../helpers/ocirt'
import {requires} from '../helpers/requires'
import {containerBundle, createWithOutput, expectFail, stateOf, waitStatus, type TestBundle} from '../helpers/containers'
import {PROBE} from '../helpers/paths'

function cg(b: TestBundle, controller: string, file: string): string {
  return fs.readFileSync(path.join('/sys/fs/cgroup', controller, b.cgroupsPath, file), 'utf8').trim()
}

interface SavedResources {
  memory?: {limit?: number; swap?: number; reservation?: number}
  cpu?: {quota?: number; period?: number; cpus?: string; shares?: number}
  pids?: {limit?: number}
}

function savedResources(b: TestBundle): SavedResources {
  const spec = JSON.parse(fs.readFileSync(path.join(b.root, b.id, 'config.json'), 'utf8'))
  return spec.linux?.resources ?? {}
}

async function running(t: Parameters<typeof containerBundle>[0]): Promise<TestBundle> {
  const b = containerBundle(t, {process: {args: [PROBE, 'counter', '-']}})
  assertOk(await createWithOutput(b), 'create')
  assertOk(await b.ocirt(['start', b.id]), 'start')
  assert.equal((await stateOf(b)).status, 'running')
  return b
}

test('update flags change the live cgroup and the saved config; a second update merges', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'cgroup-v1')) return
  const b = await running(t)
  assertOk(await b.ocirt(['update', '--memory', '512M', '--pids-limit', '64', '--cpu-quota', '50000', '--cpu-period', '100000',
    '--cpuset-cpus', '0', b.id]), 'update')
  assert.equal(cg(b, 'memory', 'memory.limit_in_bytes'), String(512 * 1024 * 1024))
  assert.equal(cg(b, 'pids', 'pids.max'), '64')
  assert.equal(cg(b, 'cpu', 'cpu.cfs_quota_us'), '50000')
  assert.equal(cg(b, 'cpu', 'cpu.cfs_period_us'), '100000')
  assert.equal(cg(b, 'cpuset', 'cpuset.cpus'), '0')
  let saved = savedResources(b)
  assert.equal(saved.memory?.limit, 512 * 1024 * 1024)
  assert.equal(saved.pids?.limit, 64)
  assert.equal(saved.cpu?.quota, 50000)
  assert.equal(saved.cpu?.cpus, '0')
  assert.equal((await stateOf(b)).status, 'running', 'state still works')

  // second update: only the quota and a size with a lower-case unit; everything else stays
  assertOk(await b.ocirt(['update', '--cpu-quota', '20000', '--memory', '1g', b.id]), 'second update')
  assert.equal(cg(b, 'cpu', 'cpu.cfs_quota_us'), '20000')
  assert.equal(cg(b, 'memory', 'memory.limit_in_bytes'), String(1024 ** 3))
  assert.equal(cg(b, 'pids', 'pids.max'), '64')
  saved = savedResources(b)
  assert.deepEqual([saved.cpu?.quota, saved.cpu?.period, saved.cpu?.cpus, saved.memory?.limit, saved.pids?.limit],
    [20000, 100000, '0', 1024 ** 3, 64])
  assert.equal((await stateOf(b)).status, 'running')
})

test('update --resources - takes the LinuxResources JSON on stdin, as docker sends it', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'cgroup-v1')) return
  const b = await running(t)
  const json = JSON.stringify({memory: {limit: 268435456}, cpu: {shares: 512, quota: 30000, period: 100000}, pids: {limit: 32}})
  assertOk(await b.ocirt(['update', '--resources', '-', b.id], {input: json}), 'update --resources -')
  assert.equal(cg(b, 'memory', 'memory.limit_in_bytes'), '268435456')
  assert.equal(cg(b, 'cpu', 'cpu.shares'), '512')
  assert.equal(cg(b, 'cpu', 'cpu.cfs_quota_us'), '30000')
  assert.equal(cg(b, 'pids', 'pids.max'), '32')
  const saved = savedResources(b)
  assert.deepEqual([saved.memory?.limit, saved.cpu?.shares, saved.pids?.limit], [268435456, 512, 32])
  // -r with a file; the other flags are ignored, as runc ignores them
  const file = path.join(b.dir, 'res.json')
  fs.writeFileSync(file, JSON.stringify({pids: {limit: 16}}))
  assertOk(await b.ocirt(['update', '-r', file, '--pids-limit', '99', b.id]), 'update -r FILE')
  assert.equal(cg(b, 'pids', 'pids.max'), '16')
  assert.equal(cg(b, 'memory', 'memory.limit_in_bytes'), '268435456')
})

test('update of a stopped container fails with runc\'s message', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'cgroup-v1')) return
  const b = await running(t)
  assertOk(await b.ocirt(['kill', b.id, 'KILL']), 'kill')
  await waitStatus(b, 'stopped')
  expectFail(await b.ocirt(['update', '--memory', '512M', b.id]), `update ${b.id}: container not running`)
  expectFail(await b.ocirt(['update', '--memory', '512M', 'no-such-container']), 'container does not exist')
})

test('a bad value gives a clear error and changes nothing', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'cgroup-v1')) return
  const b = await running(t)
  assertOk(await b.ocirt(['update', '--memory', '256m', '--pids-limit', '20', b.id]), 'update')
  const before = {mem: cg(b, 'memory', 'memory.limit_in_bytes'), pids: cg(b, 'pids', 'pids.max'),
    quota: cg(b, 'cpu', 'cpu.cfs_quota_us'), config: JSON.stringify(savedResources(b))}
  const after = () => ({mem: cg(b, 'memory', 'memory.limit_in_bytes'), pids: cg(b, 'pids', 'pids.max'),
    quota: cg(b, 'cpu', 'cpu.cfs_quota_us'), config: JSON.stringify(savedResources(b))})

  expectFail(await b.ocirt(['update', '--memory', '12zz', '--pids-limit', '5', b.id]), "invalid value for memory: invalid size: '12zz'")
  assert.deepEqual(after(), before)
  expectFail(await b.ocirt(['update', '--cpu-quota', 'lots', b.id]), 'invalid value for cpu-quota')
  assert.deepEqual(after(), before)
  expectFail(await b.ocirt(['update', '--blkio-weight', '5000', '--pids-limit', '5', b.id]), 'blkio weight')
  assert.deepEqual(after(), before)
  expectFail(await b.ocirt(['update', '--resources', '-', b.id], {input: '{"memory": '}), 'invalid resources JSON')
  assert.deepEqual(after(), before)
  expectFail(await b.ocirt(['update', '--resources', '-', b.id], {input: '{"memory": {"limit": "lots"}}'}), 'memory.limit must be an integer')
  assert.deepEqual(after(), before)
  // swap below the (saved) memory limit
  expectFail(await b.ocirt(['update', '--memory-swap', '1m', b.id]), 'linux.resources.memory.swap: memory+swap limit should be >= memory limit')
  assert.deepEqual(after(), before)
  expectFail(await b.ocirt(['update', '--l3-cache-schema', 'L3:0=ff', b.id]), 'l3-cache-schema: Intel RDT/CAT: l3 cache schema is not enabled')
  expectFail(await b.ocirt(['update', '--mem-bw-schema', 'MB:0=50', b.id]), 'mem-bw-schema: Intel RDT/MBA')
  assert.deepEqual(after(), before)
  // the kernel refuses it (no such cpu): the saved config keeps the old values
  expectFail(await b.ocirt(['update', '--cpuset-cpus', '63', b.id]), 'cpuset.cpus')
  assert.deepEqual(after(), before)
  assert.equal((await stateOf(b)).status, 'running')
})

test('a paused container can be updated and stays paused', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'cgroup-v1')) return
  const b = await running(t)
  assertOk(await b.ocirt(['pause', b.id]), 'pause')
  assertOk(await b.ocirt(['update', '--pids-limit', '12', '--memory-reservation', '64M', b.id]), 'update of a paused container')
  assert.equal(cg(b, 'pids', 'pids.max'), '12')
  assert.equal(cg(b, 'memory', 'memory.soft_limit_in_bytes'), String(64 * 1024 * 1024))
  assert.equal((await stateOf(b)).status, 'paused')
  assertOk(await b.ocirt(['resume', b.id]), 'resume')
})
