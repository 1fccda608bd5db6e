// process/sched.ts: the kernel's numbers for ioPriority, scheduler and execCPUAffinity, the CPU list parser, and
// the checks validateSpec reports by path; plus the plan attributes the helper decodes (--decode-plan).
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import * as path from 'node:path'
import {affinityMasks, cpuMask, ioprioValue, parseCpuList, schedAttr} from '../../../src/core/process/sched'
import {specProblems, type ValidateOptions} from '../../../src/core/spec/validate'
import {defaultSpec} from '../../../src/core/spec/defaults'
import {encodePlan} from '../../../src/core/init/codec'
import {buildExecPlan} from '../../../src/core/init/build-exec-plan'
import type {Process, Spec} from '../../../src/core/spec/types'
import {REPO} from '../../helpers/paths'

const base: ValidateOptions = {verb: 'create', id: 'c1', requireProcess: true, host: {apparmor: false, selinux: false, intelRdt: false}}

function problems(p: Partial<Process>): string[] {
  const s: Spec = defaultSpec()
  Object.assign(s.process!, p)
  return specProblems(s, base).map((q) => `${q.path}: ${q.message}`)
}

test('CPU lists: ranges, singles, duplicates, and what is refused', () => {
  assert.deepEqual(parseCpuList('0-3,7'), [0, 1, 2, 3, 7])
  assert.deepEqual(parseCpuList(' 5 , 1-2,2'), [1, 2, 5])
  assert.deepEqual(parseCpuList(''), [])
  assert.match(parseCpuList('0-') as string, /"0-" is not a CPU number or range/)
  assert.match(parseCpuList('3-1') as string, /range 3-1 ends before it starts/)
  assert.match(parseCpuList('a') as string, /not a CPU number/)
  assert.match(parseCpuList('9000') as string, /CPU 9000 is above 8191/)
})

test('cpu_set_t bytes: bit N of byte N/8, whole 8-byte words', () => {
  assert.equal(cpuMask([0, 1, 3]).toString('hex'), '0b00000000000000')
  assert.equal(cpuMask([65]).toString('hex'), '0000000000000000' + '0200000000000000')
  const {initial, final} = affinityMasks({initial: '1'})
  assert.equal(initial!.toString('hex'), '0200000000000000')
  assert.equal(final!.length, 1024, 'initial without final: every CPU, narrowed by the kernel to the cgroup\'s')
  assert.ok(final!.every((b) => b === 0xff))
  assert.deepEqual(affinityMasks({final: '0'}), {initial: undefined, final: cpuMask([0])})
  assert.deepEqual(affinityMasks({initial: '', final: ''}), {initial: undefined, final: undefined})
})

test('ioprio and sched_attr values', () => {
  assert.equal(ioprioValue({class: 'IOPRIO_CLASS_BE', priority: 6}), (2 << 13) | 6)
  assert.equal(ioprioValue({class: 'IOPRIO_CLASS_IDLE', priority: 0}), 3 << 13)
  assert.deepEqual(schedAttr({policy: 'SCHED_DEADLINE', runtime: 10000, deadline: 20000, period: 30000, flags: ['SCHED_FLAG_RESET_ON_FORK', 'SCHED_FLAG_DL_OVERRUN']}),
    {policy: 6, flags: 5n, nice: 0, priority: 0, runtime: 10000n, deadline: 20000n, period: 30000n})
  assert.deepEqual(schedAttr({policy: 'SCHED_BATCH', nice: -3}), {policy: 3, flags: 0n, nice: -3, priority: 0, runtime: 0n, deadline: 0n, period: 0n})
})

test('validation: every bad field by its path', () => {
  assert.deepEqual(problems({ioPriority: {class: 'IOPRIO_CLASS_BE', priority: 4}, scheduler: {policy: 'SCHED_RR', priority: 1, nice: -20}, execCPUAffinity: {initial: '0', final: '0-1'}}), [])
  assert.deepEqual(problems({ioPriority: {class: 'RT', priority: 8}}), [
    'process.ioPriority.class: unknown class "RT" (IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE)',
    'process.ioPriority.priority: must be an integer from 0 (highest) to 7 (lowest)',
  ])
  assert.deepEqual(problems({ioPriority: 'high' as never}), ['process.ioPriority: must be an object'])
  assert.deepEqual(problems({scheduler: {policy: 'SCHED_OTHER', nice: 20, priority: 5, flags: ['SCHED_FLAG_X'], runtime: 5}}), [
    'process.scheduler.nice: must be an integer from -20 to 19',
    'process.scheduler.priority: must be 0 for SCHED_OTHER (a static priority is for SCHED_FIFO and SCHED_RR)',
    'process.scheduler.flags[0]: unknown flag "SCHED_FLAG_X"',
    'process.scheduler.runtime: is only for SCHED_DEADLINE',
  ])
  assert.deepEqual(problems({scheduler: {policy: 'SCHED_FIFO'}}), ['process.scheduler.priority: SCHED_FIFO needs a priority from 1 to 99'])
  assert.deepEqual(problems({scheduler: {policy: 'SCHED_ISO'}}), ['process.scheduler.policy: SCHED_ISO is reserved by Linux and not implemented by it'])
  assert.match(problems({scheduler: {policy: 'FAST'}})[0], /^process\.scheduler\.policy: unknown policy "FAST"/)
  assert.deepEqual(problems({scheduler: {policy: 'SCHED_DEADLINE', runtime: 100}}), ['process.scheduler.runtime: SCHED_DEADLINE needs a runtime of at least 1024 ns'])
  assert.deepEqual(problems({scheduler: {policy: 'SCHED_DEADLINE', runtime: 2000, deadline: 1500}}), ['process.scheduler.deadline: must be at least the runtime (2000 ns)'])
  assert.deepEqual(problems({scheduler: {policy: 'SCHED_DEADLINE', runtime: 2000, deadline: 3000, period: 2500}}), ['process.scheduler.period: must be 0 or at least the deadline (3000 ns)'])
  assert.deepEqual(problems({execCPUAffinity: {initial: 3 as never, final: '1-0'}}), [
    'process.execCPUAffinity.initial: must be a string of CPUs such as "0-3,7"',
    'process.execCPUAffinity.final: invalid CPU list "1-0": range 1-0 ends before it starts',
  ])
})

test('the helper decodes IOPRIO, SCHED and the affinity masks as sent (a negative nice survives)', () => {
  const plan = buildExecPlan({
    id: 'c1', verb: 'exec', namespaces: {}, detach: true, preserveFds: 0, rootless: false, cgroupPaths: {},
    process: {cwd: '/', args: ['/bin/true'], env: ['HOME=/'], ioPriority: {class: 'IOPRIO_CLASS_RT', priority: 7},
      scheduler: {policy: 'SCHED_OTHER', nice: -5, flags: ['SCHED_FLAG_RESET_ON_FORK']}, execCPUAffinity: {initial: '1', final: '0,2'}},
  })
  const r = spawnSync(path.join(REPO, 'native', 'build', 'ocirt-init'), ['--decode-plan'], {input: encodePlan(plan), encoding: 'utf8'})
  assert.equal(r.status, 0, r.stderr)
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((a) => ['IOPRIO', 'SCHED', 'CPU_AFFINITY_INITIAL', 'CPU_AFFINITY_FINAL'].includes(a.attr))
  assert.deepEqual(lines, [
    {attr: 'IOPRIO', value: (1 << 13) | 7},
    {attr: 'SCHED', policy: 0, nice: 2 ** 32 - 5, priority: 0, flags: '1', runtime: '0', deadline: '0', period: '0'},
    {attr: 'CPU_AFFINITY_INITIAL', mask: '0200000000000000'},
    {attr: 'CPU_AFFINITY_FINAL', mask: '0500000000000000'},
  ])
  const init = buildExecPlan({id: 'c1', verb: 'exec', namespaces: {}, detach: true, preserveFds: 0, rootless: false, cgroupPaths: {}, process: {cwd: '/', args: ['/bin/true']}})
  assert.equal(init.cpuAffinity, undefined)
  assert.equal(init.sched, undefined)
  assert.equal(init.ioprio, undefined)
})
