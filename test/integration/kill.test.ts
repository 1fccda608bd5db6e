// `ocirt kill`: SIGTERM by default, signal names with and without SIG and numbers, --all reaching every
// process of the container, runc's errors for a stopped container and an unknown signal.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {assertOk} from '../helpers/ocirt'
import {requires} from '../helpers/requires'
import {alive, containerBundle, createWithOutput, expectFail, readOut, stateOf, waitFor, waitStatus, type TestBundle} from '../helpers/containers'
import {PROBE} from '../helpers/paths'

/** A running `probe signals` whose output (ready, then one line per signal) is in readOut(b). */
async function signalsContainer(t: Parameters<typeof containerBundle>[0]): Promise<TestBundle> {
  const b = containerBundle(t, {process: {args: [PROBE, 'signals']}})
  assertOk(await createWithOutput(b), 'create')
  assertOk(await b.ocirt(['start', b.id]), 'start')
  await waitFor('probe ready', () => readOut(b).includes('ready\n'))
  return b
}

test('kill without a signal sends SIGTERM', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = await signalsContainer(t)
  assertOk(await b.ocirt(['kill', b.id]), 'kill')
  await waitStatus(b, 'stopped')
  assert.equal(readOut(b), 'ready\nTERM\n')
})

test('signals by name with and without SIG, in any case, and by number', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = await signalsContainer(t)
  const sent: [string, string][] = [['USR1', 'USR1'], ['SIGUSR2', 'USR2'], ['hup', 'HUP'], ['SigInt', 'INT'], ['10', 'USR1'], ['28', 'WINCH']]
  let expected = 'ready\n'
  for (const [arg, name] of sent) {
    assertOk(await b.ocirt(['kill', b.id, arg]), `kill ${arg}`)
    expected += `${name}\n`
    await waitFor(`${name} after kill ${arg}`, () => readOut(b) === expected)
  }
  assert.equal((await stateOf(b)).status, 'running')
  assertOk(await b.ocirt(['kill', b.id, '15']), 'kill 15')
  await waitStatus(b, 'stopped')
  assert.equal(readOut(b), expected + 'TERM\n')
})

test('kill --all signals every process of the container', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  // without a pid namespace killing the init would leave its children alive: only --all reaches them
  const b = containerBundle(t, (s) => {
    s.process!.args = [PROBE, 'fork-sleep', '3']
    s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'pid')
  })
  assertOk(await createWithOutput(b), 'create')
  assertOk(await b.ocirt(['start', b.id]), 'start')
  await waitFor('three children', () => readOut(b).includes('ready\n'))
  const pids: number[] = (await b.ocirt(['ps', '--format', 'json', b.id])).json()
  assert.equal(pids.length, 4, `init and three children: ${pids}`)
  assert.ok(pids.every(alive))

  assertOk(await b.ocirt(['kill', '--all', b.id, 'KILL']), 'kill --all')
  await waitFor('every process gone', () => !pids.some(alive))
  await waitStatus(b, 'stopped')
  assertOk(await b.ocirt(['kill', '--all', b.id, 'KILL']), 'kill --all of a stopped container is not an error (runc)')
})

test('kill of a stopped container fails with "container not running"', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'true']}})
  assertOk(await b.ocirt(['run', '-d', '--bundle', b.dir, b.id]), 'run -d')
  await waitStatus(b, 'stopped')
  const r = await b.ocirt(['kill', b.id, 'KILL'])
  expectFail(r, 'container not running')
  assert.ok(r.stderr.includes(b.id), 'the error names the container')
})

test('an unknown signal is refused and the container keeps running', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = await signalsContainer(t)
  for (const bad of ['FOO', 'SIGFOO', 'RTMIN+3', '1.5', '']) {
    const r = await b.ocirt(['kill', b.id, bad])
    if (bad === '') {
      // runc: an empty signal is the default, SIGTERM; checked last, it ends the container
      assertOk(r, 'kill ""')
      continue
    }
    expectFail(r, `unknown signal ${JSON.stringify(bad)}`)
    assert.equal((await stateOf(b)).status, 'running', `still running after kill ${bad}`)
  }
  await waitStatus(b, 'stopped')
  assert.equal(readOut(b), 'ready\nTERM\n')
})

test('kill of an unknown container fails with "does not exist"', async (t) => {
  if (!requires(t, 'root', 'ocirt')) return
  const b = containerBundle(t)
  expectFail(await b.ocirt(['kill', b.id, 'KILL']), 'container does not exist')
})

test('a created container dies of SIGTERM (its init is pid 1 of its namespace, yet not deaf)', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'sleep', '600']}})
  assertOk(await createWithOutput(b), 'create')
  assert.equal((await stateOf(b)).status, 'created')
  assertOk(await b.ocirt(['kill', b.id, 'TERM']), 'kill TERM')
  await waitStatus(b, 'stopped')
})
