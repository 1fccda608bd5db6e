// process.ioPriority, process.scheduler and process.execCPUAffinity (OCI 1.2) on real containers, read back by
// `probe sched` (ioprio_get, sched_getattr, Cpus_allowed_list): applied at run and exec, exec's process.json
// bringing its own or inheriting the container's, execCPUAffinity never applied to the init, and the helper's
// failures naming the field. RT policies only at the lowest priority, in a process that exits at once.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {assertOk} from '../helpers/ocirt'
import {requires} from '../helpers/requires'
import {containerBundle, runOut, stateOf, type TestBundle} from '../helpers/containers'
import type {SpecOverride} from '../helpers/bundle'
import type {Process} from '../../src/core/spec/types'
import {PROBE} from '../helpers/paths'

type Sched = Record<'ioprio' | 'policy' | 'nice' | 'prio' | 'flags' | 'runtime' | 'cpus', string>

function parse(out: string): Sched {
  return Object.fromEntries(out.trim().split(' ').map((kv) => kv.split('='))) as Sched
}

const onlineCpus = () => fs.readFileSync('/sys/devices/system/cpu/online', 'utf8').trim()
const twoCpus = () => /^0-([1-9]\d*)$/.test(onlineCpus())

async function running(t: {after(fn: () => unknown): void}, override: SpecOverride): Promise<TestBundle> {
  const b = containerBundle(t, {process: {args: [PROBE, 'sleep', '600']}})
  b.writeSpec(override)
  assertOk(await b.ocirt(['run', '-d', '--bundle', b.dir, b.id]), 'run -d')
  return b
}

function processFile(b: TestBundle, p: Partial<Process>): string {
  const file = path.join(b.dir, 'process.json')
  fs.writeFileSync(file, JSON.stringify({cwd: '/', args: [PROBE, 'sched'], env: ['PATH=/bin'], ...p}))
  return file
}

test('run: ioPriority and a SCHED_BATCH scheduler with nice 5 are what the container process gets', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {
    args: [PROBE, 'sched'],
    ioPriority: {class: 'IOPRIO_CLASS_BE', priority: 6},
    scheduler: {policy: 'SCHED_BATCH', nice: 5},
  }})
  const s = parse(await runOut(b))
  assert.deepEqual([s.ioprio, s.policy, s.nice, s.prio], ['2/6', '3', '5', '0'], 'best effort level 6, SCHED_BATCH (3), nice 5')

  const plain = containerBundle(t, {process: {args: [PROBE, 'sched']}})
  const p = parse(await runOut(plain))
  assert.deepEqual([p.ioprio, p.policy, p.nice], ['0/0', '0', '0'], 'without the fields nothing changes')
})

test('run: SCHED_IDLE with the idle I/O class', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {
    args: [PROBE, 'sched'],
    ioPriority: {class: 'IOPRIO_CLASS_IDLE', priority: 0},
    scheduler: {policy: 'SCHED_IDLE', flags: ['SCHED_FLAG_RESET_ON_FORK']},
  }})
  const s = parse(await runOut(b))
  assert.equal(s.ioprio.split('/')[0], '3', 'idle I/O class')
  assert.equal(s.policy, '5', 'SCHED_IDLE')
})

test('run: SCHED_FIFO needs the cgroup\'s RT budget; without it the error names process.scheduler', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  if (!fs.existsSync('/sys/fs/cgroup/cpu/cpu.rt_runtime_us')) return t.skip('no cgroup v1 RT budget (CONFIG_RT_GROUP_SCHED) here')
  const fifo = {policy: 'SCHED_FIFO', priority: 1}
  const b = containerBundle(t, {process: {args: [PROBE, 'sched'], scheduler: fifo}, linux: {resources: {cpu: {realtimeRuntime: 10000, realtimePeriod: 1000000}}}})
  const s = parse(await runOut(b))
  assert.deepEqual([s.policy, s.prio], ['1', '1'], 'SCHED_FIFO at priority 1')

  const none = containerBundle(t, {process: {args: [PROBE, 'sched'], scheduler: fifo}})
  const r = await none.ocirt(['run', '--bundle', none.dir, none.id])
  assert.equal(r.code, 1, r.stderr)
  assert.match(r.stderr, /process\.scheduler: sched_setattr\(policy 1, nice 0, priority 1, flags 0\).*(EPERM|not permitted)/)
  assert.equal((await none.ocirt(['state', none.id])).code, 1, 'no container left behind')
})

test('exec: process.json\'s own ioPriority, scheduler and execCPUAffinity; initial before the cgroup, final at exec', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  if (!twoCpus()) return t.skip(`needs CPUs 0 and 1 online (online: ${onlineCpus()})`)
  const b = await running(t, {})
  const file = processFile(b, {
    ioPriority: {class: 'IOPRIO_CLASS_BE', priority: 4},
    scheduler: {policy: 'SCHED_BATCH', nice: 3},
    execCPUAffinity: {initial: '1', final: '0'},
  })
  const log = path.join(path.dirname(b.dir), 'exec.log')
  const r = assertOk(await b.ocirt(['exec', '--process', file, b.id], {globals: ['--debug', '--log', log]}), 'exec --process')
  const s = parse(r.stdout)
  assert.deepEqual([s.ioprio, s.policy, s.nice, s.cpus], ['2/4', '3', '3', '0'], 'the process.json\'s values; final CPU 0')
  assert.match(fs.readFileSync(log, 'utf8'), /process\.execCPUAffinity\.initial: running on CPUs 1 before joining the cgroups/)

  const initial = parse(assertOk(await b.ocirt(['exec', '--process', processFile(b, {execCPUAffinity: {initial: '1'}}), b.id]), 'initial only').stdout)
  assert.equal(initial.cpus, onlineCpus(), 'with only `initial`, joining the cpuset cgroup gives the cgroup\'s CPUs')
})

test('exec inherits the container\'s settings (flags or a process.json without them); the init ignores execCPUAffinity', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  if (!twoCpus()) return t.skip(`needs CPUs 0 and 1 online (online: ${onlineCpus()})`)
  const b = await running(t, {process: {
    ioPriority: {class: 'IOPRIO_CLASS_BE', priority: 7},
    scheduler: {policy: 'SCHED_BATCH', nice: 2},
    execCPUAffinity: {final: '1'},
  }})
  const viaFlags = parse(assertOk(await b.ocirt(['exec', b.id, PROBE, 'sched']), 'exec').stdout)
  assert.deepEqual([viaFlags.ioprio, viaFlags.policy, viaFlags.nice, viaFlags.cpus], ['2/7', '3', '2', '1'])
  const viaFile = parse(assertOk(await b.ocirt(['exec', '--process', processFile(b, {}), b.id]), 'exec --process').stdout)
  assert.deepEqual([viaFile.ioprio, viaFile.policy, viaFile.nice, viaFile.cpus], ['2/7', '3', '2', '1'])
  const own = parse(assertOk(await b.ocirt(['exec', '--process', processFile(b, {scheduler: {policy: 'SCHED_OTHER', nice: 1}}), b.id]), 'own').stdout)
  assert.deepEqual([own.policy, own.nice], ['0', '1'], 'a process.json scheduler replaces the container\'s')

  const status = fs.readFileSync(`/proc/${(await stateOf(b)).pid}/status`, 'utf8')
  assert.match(status, new RegExp(`Cpus_allowed_list:\\s+${onlineCpus()}\\n`), 'the init runs on every CPU: execCPUAffinity is not for it')
})

test('exec: bad values fail before anything runs, a CPU the kernel refuses fails in the helper, both naming the field (exit 255)', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = await running(t, {})
  const bad = await b.ocirt(['exec', '--process', processFile(b, {scheduler: {policy: 'SCHED_FAST'}}), b.id])
  assert.equal(bad.code, 255, bad.stderr)
  assert.match(bad.stderr, /process\.scheduler\.policy: unknown policy \\?"SCHED_FAST/)
  const flag = await b.ocirt(['exec', '--process', processFile(b, {scheduler: {policy: 'SCHED_OTHER', flags: ['SCHED_FLAG_NOPE']}}), b.id])
  assert.match(flag.stderr, /process\.scheduler\.flags\[0\]: unknown flag \\?"SCHED_FLAG_NOPE/)
  const offline = await b.ocirt(['exec', '--process', processFile(b, {execCPUAffinity: {final: '4000'}}), b.id])
  assert.equal(offline.code, 255, offline.stderr)
  assert.match(offline.stderr, /process\.execCPUAffinity\.final: sched_setaffinity: (EINVAL|invalid argument)/i)
  const pids = fs.readFileSync(`/sys/fs/cgroup/pids${b.cgroupsPath}/cgroup.procs`, 'utf8').trim().split('\n')
  assert.equal(pids.length, 1, `only the init is left in the container's cgroup: ${pids.join(' ')}`)
})
