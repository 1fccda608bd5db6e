// parseStats against a real capture (byte-for-byte equal to runc's `events --stats` data) and synthetic v1/v2 text.
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {parseCpuList, parseStats, statsToJson} from '../../../src/core/cgroups/stats'
import {RUNC_V1_DATA, V1_FILES} from './stats-fixture'

describe('parseStats v1', () => {
  it('prints what runc 1.1 prints for the same files', () => {
    assert.equal(statsToJson(parseStats('v1', V1_FILES)), RUNC_V1_DATA)
  })

  it('takes blkio from the first family with data, skipping Total lines', () => {
    const s = parseStats('v1', {
      'blkio.throttle.io_serviced_recursive': '8:0 Read 3\n8:0 Write 0\nTotal 3\n',
      'blkio.throttle.io_service_bytes_recursive': '8:0 Read 12288\n8:0 Write 0\nTotal 12288\n',
      'blkio.throttle.sectors_recursive': '8:0 24\n',
      'blkio.bfq.io_serviced_recursive': 'Total 0\n',
    })
    assert.deepEqual(s.blkio, {
      ioServiceBytesRecursive: [{major: 8, op: 'Read', value: 12288}, {major: 8, op: 'Write'}],
      ioServicedRecursive: [{major: 8, op: 'Read', value: 3}, {major: 8, op: 'Write'}],
      sectorsRecursive: [{major: 8, value: 24}],
    })
  })

  it('omits zero counters and "max" pid limits as Go omitempty does', () => {
    const s = parseStats('v1', {'pids.current': '0\n', 'pids.max': 'max\n'})
    assert.deepEqual(s.pids, {})
    assert.deepEqual(s.cpu, {usage: {kernel: 0, user: 0}, throttling: {}})
    assert.deepEqual(s.memory, {usage: {limit: 0, failcnt: 0}, swap: {limit: 0, failcnt: 0}, kernel: {limit: 0, failcnt: 0},
      kernelTCP: {limit: 0, failcnt: 0}})
    assert.deepEqual(s.hugetlb, {})
  })

  it('reads hugetlb per page size', () => {
    const s = parseStats('v1', {'hugetlb.2MB.usage_in_bytes': '4194304', 'hugetlb.2MB.max_usage_in_bytes': '8388608', 'hugetlb.2MB.failcnt': '1'})
    assert.deepEqual(s.hugetlb, {'2MB': {usage: 4194304, max: 8388608, failcnt: 1}})
  })
})

describe('parseStats v2', () => {
  it('converts usec to ns, reports swap as memory+swap, io.stat as Read/Write', () => {
    const s = parseStats('v2', {
      'cpu.stat': 'usage_usec 200\nuser_usec 150\nsystem_usec 50\nnr_periods 10\nnr_throttled 2\nthrottled_usec 7\n',
      'memory.current': '1000\n', 'memory.max': '4096\n', 'memory.peak': '2000\n', 'memory.events': 'low 0\nhigh 0\nmax 3\noom 0\n',
      'memory.swap.current': '24\n', 'memory.swap.max': 'max\n', 'memory.stat': 'file 12\nanon 5\n',
      'pids.current': '2\n', 'pids.max': '20\n', 'io.stat': '8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n',
      'hugetlb.1GB.current': '0', 'hugetlb.1GB.events': 'max 2\n', 'cpuset.cpus.effective': '0-1,3\n',
    })
    assert.deepEqual(s.cpu, {usage: {total: 200000, kernel: 50000, user: 150000},
      throttling: {periods: 10, throttledPeriods: 2, throttledTime: 7000}})
    assert.deepEqual(s.memory, {cache: 12, usage: {limit: 4096, usage: 1000, max: 2000, failcnt: 3},
      swap: {limit: 18446744073709551615n, usage: 1024, failcnt: 0}, kernel: {limit: 0, failcnt: 0},
      kernelTCP: {limit: 0, failcnt: 0}, raw: {anon: 5, file: 12}})
    assert.deepEqual(s.pids, {current: 2, limit: 20})
    assert.deepEqual(s.blkio.ioServiceBytesRecursive, [{major: 8, op: 'Read', value: 4096}, {major: 8, op: 'Write'}])
    assert.deepEqual(s.hugetlb, {'1GB': {failcnt: 2}})
    assert.deepEqual(s.cpuset.cpus, [0, 1, 3])
    assert.match(statsToJson(s), /"swap":\{"limit":18446744073709551615,"usage":1024,"failcnt":0\}/)
  })

  it('adds the memory limit to a finite swap limit', () => {
    const s = parseStats('v2', {'memory.current': '1', 'memory.max': '100', 'memory.swap.current': '0', 'memory.swap.max': '50'})
    assert.equal(s.memory.swap.limit, 150)
  })
})

describe('helpers', () => {
  it('parses cpu lists', () => {
    assert.deepEqual(parseCpuList('0-2,5\n'), [0, 1, 2, 5])
    assert.deepEqual(parseCpuList(''), [])
  })
})
