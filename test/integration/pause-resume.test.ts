// pause / resume through the v1 freezer: status paused, freezer.state FROZEN, the probe's counter stops;
// resume thaws it and the counter goes on. Wrong-state calls fail with runc's kind of message.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {assertOk} from '../helpers/ocirt'
import {requires} from '../helpers/requires'
import {containerBundle, createWithOutput, expectFail, readOut, sleep, stateOf, waitFor, waitStatus, type TestBundle} from '../helpers/containers'
import {PROBE} from '../helpers/paths'

/** The last count=N the probe printed. */
function lastCount(b: TestBundle): number {
  const m = [...readOut(b).matchAll(/count=(\d+)\n/g)]
  return m.length ? Number(m[m.length - 1][1]) : -1
}

function freezerState(b: TestBundle): string {
  return fs.readFileSync(path.join('/sys/fs/cgroup/freezer', b.cgroupsPath, 'freezer.state'), 'utf8').trim()
}

async function counterContainer(t: Parameters<typeof containerBundle>[0]): Promise<TestBundle> {
  const b = containerBundle(t, {process: {args: [PROBE, 'counter', '-']}})
  assertOk(await createWithOutput(b), 'create')
  assertOk(await b.ocirt(['start', b.id]), 'start')
  await waitFor('the counter to tick', () => lastCount(b) >= 1)
  return b
}

test('pause freezes every process: status paused, freezer FROZEN, the counter stops; resume goes on', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'cgroup-v1')) return
  const b = await counterContainer(t)
  assert.equal(freezerState(b), 'THAWED')

  assertOk(await b.ocirt(['pause', b.id]), 'pause')
  assert.equal((await stateOf(b)).status, 'paused')
  assert.equal(freezerState(b), 'FROZEN')
  const frozenAt = lastCount(b)
  await sleep(500) // five ticks of the probe
  assert.equal(lastCount(b), frozenAt, 'no tick while frozen')
  const list = (await b.ocirt(['list', '-f', 'json'])).json() as {id: string; status: string}[]
  assert.equal(list.find((c) => c.id === b.id)?.status, 'paused')

  assertOk(await b.ocirt(['resume', b.id]), 'resume')
  assert.equal((await stateOf(b)).status, 'running')
  assert.equal(freezerState(b), 'THAWED')
  await waitFor('ticks after resume', () => lastCount(b) >= frozenAt + 2)
})

test('a TERM sent to a paused container takes effect when it is resumed', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'cgroup-v1')) return
  const b = await counterContainer(t)
  assertOk(await b.ocirt(['pause', b.id]), 'pause')
  assertOk(await b.ocirt(['kill', b.id, 'TERM']), 'kill TERM of a paused container')
  await sleep(200)
  assert.equal((await stateOf(b)).status, 'paused', 'a frozen process does not act on TERM')
  assertOk(await b.ocirt(['resume', b.id]), 'resume')
  await waitStatus(b, 'stopped')
})

test('a created container can be paused and resumed back to created, as with runc', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'cgroup-v1')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'counter', '-']}})
  assertOk(await createWithOutput(b), 'create')
  assertOk(await b.ocirt(['pause', b.id]), 'pause of a created container')
  assert.equal((await stateOf(b)).status, 'paused')
  assert.equal(freezerState(b), 'FROZEN')
  expectFail(await b.ocirt(['start', b.id]), b.id)
  assertOk(await b.ocirt(['resume', b.id]), 'resume')
  assert.equal((await stateOf(b)).status, 'created')
  assertOk(await b.ocirt(['start', b.id]), 'start')
  await waitFor('the counter to tick', () => lastCount(b) >= 1)
})

test('pause and resume in the wrong state fail with runc\'s messages and change nothing', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'cgroup-v1')) return
  const b = await counterContainer(t)
  expectFail(await b.ocirt(['resume', b.id]), `resume ${b.id}: container not paused`)
  assert.equal((await stateOf(b)).status, 'running')

  assertOk(await b.ocirt(['pause', b.id]), 'pause')
  expectFail(await b.ocirt(['pause', b.id]), `pause ${b.id}: container not running`)
  assert.equal(freezerState(b), 'FROZEN')
  assert.equal((await stateOf(b)).status, 'paused')

  const stopped = containerBundle(t, {process: {args: [PROBE, 'true']}})
  assertOk(await stopped.ocirt(['run', '-d', '--bundle', stopped.dir, stopped.id]), 'run -d')
  await waitStatus(stopped, 'stopped')
  expectFail(await stopped.ocirt(['pause', stopped.id]), 'container not running')
  expectFail(await stopped.ocirt(['resume', stopped.id]), 'container not paused')
  expectFail(await stopped.ocirt(['resume', 'no-such-' + stopped.id]), 'container does not exist')
})
