// Golden CgroupWrite plans for v1 and v2 from one rich LinuxResources, plus the conversions and edge rules.
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {blkioWeightToIoWeight, deviceRuleLine, resourceWrites, sharesToWeight, swapToV2} from '../../../src/core/cgroups/resources'
import type {CgroupWrite, LinuxResources} from '../../../src/core/cgroups/types'
import {InvalidInput} from '../../../src/core/errors'

const RICH: LinuxResources = {
  devices: [
    {allow: false, access: 'rwm'},
    {allow: true, type: 'c', major: 1, minor: 3, access: 'rwm'},
    {allow: true, type: 'c', major: 136, minor: -1},
    {allow: true, type: 'b', major: 8},
    {allow: false, type: 'c', major: 5, minor: 1, access: 'w'},
  ],
  memory: {limit: 104857600, reservation: 52428800, swap: 209715200, kernel: 1000, kernelTCP: 4194304, swappiness: 10,
    disableOOMKiller: true, useHierarchy: true},
  cpu: {shares: 1024, quota: 50000, period: 100000, burst: 1000, realtimeRuntime: 950000, realtimePeriod: 1000000,
    cpus: '0-1', mems: '0', idle: 0},
  pids: {limit: 64},
  blockIO: {weight: 500, leafWeight: 300, weightDevice: [{major: 8, minor: 0, weight: 600, leafWeight: 200}],
    throttleReadBpsDevice: [{major: 8, minor: 0, rate: 1048576}], throttleWriteBpsDevice: [{major: 8, minor: 0, rate: 2097152}],
    throttleReadIOPSDevice: [{major: 8, minor: 0, rate: 100}], throttleWriteIOPSDevice: [{major: 8, minor: 16, rate: 200}]},
  hugepageLimits: [{pageSize: '2MB', limit: 209715200}],
  network: {classID: 1048577, priorities: [{name: 'eth0', priority: 5}, {name: 'lo', priority: 1}]},
  rdma: {mlx5_1: {hcaHandles: 3, hcaObjects: 10000}},
}

const w = (controller: string, file: string, value: string, extra: Partial<CgroupWrite> = {}): CgroupWrite => ({controller, file, value, ...extra})

describe('resourceWrites v1', () => {
  it('translates a rich spec in kernel order, device rules in spec order', () => {
    assert.deepEqual(resourceWrites(RICH, 'v1'), [
      w('cpuset', 'cpuset.cpus', '0-1'),
      w('cpuset', 'cpuset.mems', '0'),
      w('devices', 'devices.deny', 'a *:* rwm'),
      w('devices', 'devices.allow', 'c 1:3 rwm'),
      w('devices', 'devices.allow', 'c 136:* rwm'),
      w('devices', 'devices.allow', 'b 8:* rwm'),
      w('devices', 'devices.deny', 'c 5:1 w'),
      w('memory', 'memory.limit_in_bytes', '104857600'),
      w('memory', 'memory.memsw.limit_in_bytes', '209715200'),
      w('memory', 'memory.soft_limit_in_bytes', '52428800'),
      w('memory', 'memory.kmem.tcp.limit_in_bytes', '4194304'),
      w('memory', 'memory.swappiness', '10'),
      w('memory', 'memory.oom_control', '1'),
      w('cpu', 'cpu.shares', '1024'),
      w('cpu', 'cpu.cfs_period_us', '100000'),
      w('cpu', 'cpu.cfs_quota_us', '50000'),
      w('cpu', 'cpu.cfs_burst_us', '1000'),
      w('cpu', 'cpu.rt_period_us', '1000000'),
      w('cpu', 'cpu.rt_runtime_us', '950000'),
      w('cpu', 'cpu.idle', '0'),
      w('pids', 'pids.max', '64'),
      w('blkio', 'blkio.weight', '500', {fallback: {file: 'blkio.bfq.weight', value: '500'}}),
      w('blkio', 'blkio.leaf_weight', '300'),
      w('blkio', 'blkio.weight_device', '8:0 600', {fallback: {file: 'blkio.bfq.weight_device', value: '8:0 600'}}),
      w('blkio', 'blkio.leaf_weight_device', '8:0 200'),
      w('blkio', 'blkio.throttle.read_bps_device', '8:0 1048576'),
      w('blkio', 'blkio.throttle.write_bps_device', '8:0 2097152'),
      w('blkio', 'blkio.throttle.read_iops_device', '8:0 100'),
      w('blkio', 'blkio.throttle.write_iops_device', '8:16 200'),
      w('hugetlb', 'hugetlb.2MB.limit_in_bytes', '209715200'),
      w('net_cls', 'net_cls.classid', '1048577'),
      w('net_prio', 'net_prio.ifpriomap', 'eth0 5'),
      w('net_prio', 'net_prio.ifpriomap', 'lo 1'),
      w('rdma', 'rdma.max', 'mlx5_1 hca_handle=3 hca_object=10000'),
    ])
  })

  it('lifts memsw first when memory goes unlimited, only where swap accounting exists', () => {
    assert.deepEqual(resourceWrites({memory: {limit: -1}}, 'v1'), [
      w('memory', 'memory.memsw.limit_in_bytes', '-1', {optional: true}),
      w('memory', 'memory.limit_in_bytes', '-1'),
    ])
    assert.deepEqual(resourceWrites({memory: {limit: -1, swap: -1}}, 'v1').map((x) => x.file), [
      'memory.memsw.limit_in_bytes', 'memory.limit_in_bytes'])
  })

  it('rejects unified keys and bad swappiness; ignores -1 swappiness', () => {
    assert.throws(() => resourceWrites({unified: {'memory.high': '1'}}, 'v1'), /cannot use unified on cgroup v1/)
    assert.throws(() => resourceWrites({memory: {swappiness: 101}}, 'v1'), InvalidInput)
    assert.deepEqual(resourceWrites({memory: {swappiness: -1}}, 'v1'), [])
  })

  it('formats pids and huge integers', () => {
    assert.deepEqual(resourceWrites({pids: {limit: -1}}, 'v1'), [w('pids', 'pids.max', 'max')])
    assert.deepEqual(resourceWrites({pids: {limit: 0}}, 'v1'), [])
    assert.equal(resourceWrites({memory: {limit: 9223372036854775807}}, 'v1')[0].value, '9223372036854775808')
    assert.throws(() => resourceWrites({cpu: {shares: 1.5}}, 'v1'), /integer/)
  })

  it('names the container in errors when given a context', () => {
    assert.throws(() => resourceWrites({memory: {swappiness: 200}}, 'v1', {verb: 'create', id: 'web1'}),
      {message: 'create web1: linux.resources.memory.swappiness: invalid value:200. valid memory swappiness range is 0-100'})
  })
})

describe('resourceWrites v2', () => {
  it('translates a rich spec with runc conversions, skipping v1-only fields', () => {
    assert.deepEqual(resourceWrites(RICH, 'v2'), [
      w('cpuset', 'cpuset.cpus', '0-1'),
      w('cpuset', 'cpuset.mems', '0'),
      w('memory', 'memory.swap.max', '104857600'),
      w('memory', 'memory.max', '104857600'),
      w('memory', 'memory.low', '52428800'),
      w('cpu', 'cpu.weight', '39'),
      w('cpu', 'cpu.max', '50000 100000'),
      w('cpu', 'cpu.max.burst', '1000'),
      w('cpu', 'cpu.idle', '0'),
      w('pids', 'pids.max', '64'),
      w('io', 'io.bfq.weight', '500', {fallback: {file: 'io.weight', value: '4950'}}),
      w('io', 'io.bfq.weight', '8:0 600'),
      w('io', 'io.max', '8:0 rbps=1048576'),
      w('io', 'io.max', '8:0 wbps=2097152'),
      w('io', 'io.max', '8:0 riops=100'),
      w('io', 'io.max', '8:16 wiops=200'),
      w('hugetlb', 'hugetlb.2MB.max', '209715200'),
      w('rdma', 'rdma.max', 'mlx5_1 hca_handle=3 hca_object=10000'),
    ])
  })

  it('writes cpu.max with "max" and the default period', () => {
    assert.deepEqual(resourceWrites({cpu: {quota: 20000}}, 'v2'), [w('cpu', 'cpu.max', '20000 100000')])
    assert.deepEqual(resourceWrites({cpu: {period: 250000}}, 'v2'), [w('cpu', 'cpu.max', 'max 250000')])
    assert.deepEqual(resourceWrites({cpu: {quota: -1, period: 50000}}, 'v2'), [w('cpu', 'cpu.max', 'max 50000')])
  })

  it('converts memory+swap to swap alone', () => {
    assert.deepEqual(resourceWrites({memory: {limit: -1}}, 'v2'), [
      w('memory', 'memory.swap.max', 'max', {optional: true}), w('memory', 'memory.max', 'max')])
    assert.deepEqual(resourceWrites({memory: {limit: 1000, swap: 1000}}, 'v2')[0], w('memory', 'memory.swap.max', '0', {optional: true}))
    assert.deepEqual(resourceWrites({memory: {limit: 1000, swap: -1}}, 'v2')[0], w('memory', 'memory.swap.max', 'max', {optional: true}))
    assert.throws(() => resourceWrites({memory: {limit: 1000, swap: 500}}, 'v2'), /memory\+swap limit should be >= memory limit/)
    assert.throws(() => resourceWrites({memory: {swap: 500}}, 'v2'), /without memory limit/)
  })

  it('writes unified keys last, as given, under their controller', () => {
    const out = resourceWrites({pids: {limit: 5}, unified: {'memory.high': '500M', 'cgroup.max.depth': '3'}}, 'v2')
    assert.deepEqual(out, [w('pids', 'pids.max', '5'), w('memory', 'memory.high', '500M'), w('cgroup', 'cgroup.max.depth', '3')])
    assert.throws(() => resourceWrites({unified: {'../memory.max': '1'}}, 'v2'), /invalid unified key/)
  })

  it('skips realtime, network, devices and kernel memory on v2', () => {
    const out = resourceWrites({cpu: {realtimeRuntime: 1, realtimePeriod: 2}, network: {classID: 1}, devices: [{allow: false}],
      memory: {kernel: 1, kernelTCP: 2, swappiness: 3, disableOOMKiller: true}}, 'v2')
    assert.deepEqual(out, [])
  })
})

describe('conversions', () => {
  it('shares → weight as runc', () => {
    assert.equal(sharesToWeight(2), 1)
    assert.equal(sharesToWeight(1024), 39)
    assert.equal(sharesToWeight(262144), 10000)
    assert.equal(sharesToWeight(0), 0)
  })
  it('blkio weight → io.weight as runc', () => {
    assert.equal(blkioWeightToIoWeight(10), 1)
    assert.equal(blkioWeightToIoWeight(100), 910)
    assert.equal(blkioWeightToIoWeight(1000), 10000)
  })
  it('swap conversion', () => {
    assert.equal(swapToV2(0, -1), -1)
    assert.equal(swapToV2(0, 100), 0)
    assert.equal(swapToV2(-1, 100), -1)
    assert.equal(swapToV2(300, 100), 200)
  })
  it('device rule lines', () => {
    assert.equal(deviceRuleLine({allow: true}), 'a *:* rwm')
    assert.equal(deviceRuleLine({allow: true, type: 'c', major: 10, minor: 200, access: 'rw'}), 'c 10:200 rw')
    assert.equal(deviceRuleLine({allow: true, type: 'b', major: null, minor: 0}), 'b *:0 rwm')
  })
})
