// events: `--stats` prints one runc-shaped stats event; without it a stats event every --interval until the
// container stops, and an oom event when the OOM killer fires in the container's cgroup. A stopped or unknown
// container fails with runc's messages.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import type {ChildProcess} from 'node:child_process'
import {assertOk, spawnOcirt} from '../helpers/ocirt'
import {requires} from '../helpers/requires'
import {containerBundle, createWithOutput, expectFail, readOut, waitFor, waitStatus, type TestBundle} from '../helpers/containers'
import {PROBE} from '../helpers/paths'

interface Event {
  type: string
  id: string
  data?: {memory?: {usage?: {usage?: number}}; cpu?: {usage?: {total?: number}}; pids?: {current?: number}}
}

function lines(text: string): Event[] {
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Event)
}

/** `ocirt events` in the background, its stdout collected; resolves `done` with the exit code. */
function startEvents(b: TestBundle, extra: string[]): {child: ChildProcess; out: {text: string; err: string}; done: Promise<number | null>} {
  const child = spawnOcirt(['events', ...extra, b.id], {root: b.root})
  b.cleanup.pid(child)
  const out = {text: '', err: ''}
  child.stdout!.on('data', (d: Buffer) => (out.text += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (out.err += d.toString()))
  const done = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {child, out, done}
}

async function started(t: Parameters<typeof containerBundle>[0], args: string[]): Promise<TestBundle> {
  const b = containerBundle(t, {process: {args}})
  assertOk(await createWithOutput(b), 'create')
  assertOk(await b.ocirt(['start', b.id]), 'start')
  return b
}

test('events --stats prints one stats line: the id, memory, cpu and pids matching the processes', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'cgroup-v1')) return
  const b = await started(t, [PROBE, 'fork-sleep', '2'])
  await waitFor('the probe to fork', () => readOut(b).includes('ready'))
  const r = assertOk(await b.ocirt(['events', '--stats', b.id]), 'events --stats')
  assert.match(r.stdout, /^\{"type":"stats","id":"[^"]+","data":\{.*\}\}\n$/, 'one compact JSON line')
  const [ev, ...more] = lines(r.stdout)
  assert.equal(more.length, 0)
  assert.equal(ev.type, 'stats')
  assert.equal(ev.id, b.id)
  assert.equal(ev.data?.pids?.current, 3, 'the probe and its two children')
  assert.ok((ev.data?.memory?.usage?.usage ?? 0) > 0, 'memory usage')
  assert.ok((ev.data?.cpu?.usage?.total ?? 0) > 0, 'cpu usage')
})

test('events --interval 200ms streams stats lines and ends when the container is killed', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'cgroup-v1')) return
  const b = await started(t, [PROBE, 'fork-sleep', '1'])
  const ev = startEvents(b, ['--interval', '200ms'])
  await waitFor('three stats lines', () => lines(ev.out.text).length >= 3, 5_000)
  assertOk(await b.ocirt(['kill', b.id, 'KILL']), 'kill')
  await waitStatus(b, 'stopped')
  const code = await Promise.race([ev.done, new Promise((resolve) => setTimeout(() => resolve('still running'), 5_000))])
  assert.equal(code, 0, `events exits 0 after the container stops; stderr: ${ev.out.err}`)
  const all = lines(ev.out.text)
  assert.ok(all.length >= 3)
  for (const e of all) {
    assert.equal(e.type, 'stats')
    assert.equal(e.id, b.id)
  }
})

test('events reports an oom event when the OOM killer fires in the container', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'cgroup-v1')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'oom']}, linux: {resources: {memory: {limit: 32 * 1024 * 1024}}}})
  assertOk(await createWithOutput(b), 'create')
  const ev = startEvents(b, ['--interval', '1s'])
  // events must be watching (its baseline OOM count read) before the probe starts allocating
  await new Promise((resolve) => setTimeout(resolve, 500))
  assertOk(await b.ocirt(['start', b.id]), 'start')
  const seen = await Promise.race([
    waitFor('an oom line', () => lines(ev.out.text).some((e) => e.type === 'oom'), 8_000).then(() => true, () => false),
    ev.done.then(() => lines(ev.out.text).some((e) => e.type === 'oom')),
  ])
  if (!seen) {
    if (readOut(b).includes('alloc-failed')) return t.skip('malloc failed before the OOM killer fired on this kernel/VM')
    return t.skip(`no OOM kill within 8 s on this kernel/VM; probe said: ${readOut(b).slice(-200)}`)
  }
  const oom = lines(ev.out.text).find((e) => e.type === 'oom')
  assert.deepEqual(oom, {type: 'oom', id: b.id}, 'runc\'s oom event: type and id, no data')
  await waitStatus(b, 'stopped')
  assert.equal(await ev.done, 0)
})

test('events on a stopped or unknown container fails as runc does', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'cgroup-v1')) return
  const b = await started(t, [PROBE, 'fork-sleep', '1'])
  assertOk(await b.ocirt(['kill', b.id, 'KILL']), 'kill')
  await waitStatus(b, 'stopped')
  expectFail(await b.ocirt(['events', b.id]), `container with id ${b.id} is not running`)
  expectFail(await b.ocirt(['events', '--stats', b.id]), `container with id ${b.id} is not running`)
  expectFail(await b.ocirt(['events', 'no-such-container-here']), 'container does not exist')
  expectFail(await b.ocirt(['events', '--interval', '0s', b.id]), 'duration interval must be greater than 0')
})
