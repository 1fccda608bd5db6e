// `ocirt delete`: stopped and created containers go; a running one only with --force (runc's message
// otherwise); afterwards no state dir, no cgroup dir in any hierarchy, no process; unknown ids as runc.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {assertOk} from '../helpers/ocirt'
import {requires} from '../helpers/requires'
import {alive, cgroupDirsLeft, containerBundle, expectFail, stateOf, waitFor, waitStatus, type TestBundle} from '../helpers/containers'
import {PROBE} from '../helpers/paths'

/** Host pids of every process in the container (ocirt ps --format json). */
async function pidsOf(b: TestBundle): Promise<number[]> {
  return (await b.ocirt(['ps', '--format', 'json', b.id])).json()
}

async function assertNothingLeft(b: TestBundle, pids: number[]): Promise<void> {
  expectFail(await b.ocirt(['state', b.id]), 'container does not exist')
  assert.ok(!fs.existsSync(path.join(b.root, b.id)), `state dir ${path.join(b.root, b.id)} removed`)
  assert.deepEqual(cgroupDirsLeft(b.cgroupsPath), [], 'no cgroup dir left in any hierarchy')
  await waitFor(`pids ${pids} gone`, () => !pids.some(alive), 5000)
  const list = (await b.ocirt(['list', '--quiet'])).stdout
  assert.ok(!list.split('\n').includes(b.id), 'not listed')
}

test('delete of a stopped container', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'true']}})
  assertOk(await b.ocirt(['run', '-d', '--bundle', b.dir, b.id]), 'run -d')
  await waitStatus(b, 'stopped')
  assert.ok(cgroupDirsLeft(b.cgroupsPath).length > 0, 'the stopped container still has its cgroup')
  assertOk(await b.ocirt(['delete', b.id]), 'delete')
  await assertNothingLeft(b, [])
})

test('delete of a created container kills the waiting init', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'sleep', '60']}})
  assertOk(await b.ocirt(['create', '--bundle', b.dir, b.id]), 'create')
  const st = await stateOf(b)
  assert.equal(st.status, 'created')
  assertOk(await b.ocirt(['delete', b.id]), 'delete')
  assert.ok(!alive(st.pid), `init ${st.pid} killed`)
  await assertNothingLeft(b, [st.pid])
})

test('delete of a running container fails without --force and works with it', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'fork-sleep', '2']}})
  assertOk(await b.ocirt(['run', '-d', '--bundle', b.dir, b.id]), 'run -d')
  const pids = await waitFor('init and two children', async () => {
    const p = await pidsOf(b)
    return p.length === 3 && p
  })
  const r = await b.ocirt(['delete', b.id])
  expectFail(r, `cannot delete container ${b.id} that is not stopped: running`)
  assert.equal((await stateOf(b)).status, 'running', 'a refused delete changes nothing')
  assert.ok(pids.every(alive))

  assertOk(await b.ocirt(['delete', '--force', b.id]), 'delete --force')
  await assertNothingLeft(b, pids)
})

test('delete --force of a paused container thaws and kills it', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'cgroup-v1')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'sleep', '60']}})
  assertOk(await b.ocirt(['run', '-d', '--bundle', b.dir, b.id]), 'run -d')
  const {pid} = await stateOf(b)
  assertOk(await b.ocirt(['pause', b.id]), 'pause')
  expectFail(await b.ocirt(['delete', b.id]), `cannot delete container ${b.id} that is not stopped: paused`)
  assertOk(await b.ocirt(['delete', '-f', b.id]), 'delete -f')
  await assertNothingLeft(b, [pid])
})

test('delete of an unknown id: "does not exist" exit 1, with --force exit 0', async (t) => {
  if (!requires(t, 'root', 'ocirt')) return
  const b = containerBundle(t)
  const r = await b.ocirt(['delete', b.id])
  expectFail(r, 'container does not exist')
  assert.ok(r.stderr.includes(b.id), 'the error names the container')
  const forced = await b.ocirt(['delete', '--force', b.id])
  assert.equal(forced.code, 0, forced.stderr)
  assert.equal(forced.stderr, '')
})
