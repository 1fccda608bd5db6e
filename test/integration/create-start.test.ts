// create → start on real containers: the waiting init in new namespaces, the pid file and exec fifo, the
// running state, output on the caller's stdio, runc's state JSON shape, and the errors of a second start and
// a duplicate id.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {makeBundle} from '../helpers/bundle'
import {assertOk} from '../helpers/ocirt'
import {requires} from '../helpers/requires'
import {alive, containerBundle, createWithOutput, expectFail, nsOf, readOut, stateOf, waitFor, waitStatus} from '../helpers/containers'
import {PROBE} from '../helpers/paths'

const NEW_NS = ['ipc', 'mnt', 'net', 'pid', 'uts']
const SHARED_NS = ['cgroup', 'user']

test('create leaves the init waiting in new namespaces, with pid file and exec fifo; start runs it', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'echo', 'hello from the container']}})
  const pidFile = path.join(b.dir, 'init.pid')

  assertOk(await createWithOutput(b, ['--pid-file', pidFile]), 'create')
  const st = await stateOf(b)
  assert.equal(st.status, 'created')
  assert.ok(st.pid > 0 && alive(st.pid), `init ${st.pid} alive`)
  assert.equal(fs.readFileSync(pidFile, 'utf8').trim(), String(st.pid), 'pid file holds the init pid')
  const fifo = path.join(b.root, b.id, 'exec.fifo')
  assert.ok(fs.statSync(fifo).isFIFO(), 'exec.fifo is a fifo')
  for (const ns of NEW_NS) assert.notEqual(nsOf(st.pid, ns), nsOf('self', ns), `${ns} namespace is new`)
  for (const ns of SHARED_NS) assert.equal(nsOf(st.pid, ns), nsOf('self', ns), `${ns} namespace is the host's`)
  assert.equal(readOut(b), '', 'nothing runs before start')

  assertOk(await b.ocirt(['start', b.id]), 'start')
  assert.ok(!fs.existsSync(fifo), 'exec.fifo removed by start')
  await waitFor('the container output', () => readOut(b).includes('hello from the container\n'))
  await waitStatus(b, 'stopped')
})

test('a started container is running and its output reaches the stdio of the caller of create', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'counter', '-']}})
  assertOk(await createWithOutput(b), 'create')
  assertOk(await b.ocirt(['start', b.id]), 'start')
  const st = await stateOf(b)
  assert.equal(st.status, 'running')
  assert.ok(alive(st.pid))
  await waitFor('count=2 on the caller\'s stdout', () => readOut(b).includes('count=2\n'))
})

test('state JSON has runc\'s keys in runc\'s order and the same status values', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'runc')) return
  const spec = {process: {args: [PROBE, 'sleep', '30']}, annotations: {'org.test.key': 'v'}}
  const b = containerBundle(t, spec)
  const r = containerBundle(t, spec) // runc's twin: its own bundle, root and cgroup
  r.id += '-runc' // not the id the cleanup deletes with ocirt: runc's state dir is runc's to remove
  // runc's container inherits runc's stdio: only `state` gets a pipe, or spawnSync would wait for the container
  const runc = (args: string[]) => spawnSync('runc', ['--root', r.root, ...args],
    {encoding: 'utf8', cwd: r.dir, stdio: ['ignore', args[0] === 'state' ? 'pipe' : 'ignore', args[0] === 'state' ? 'pipe' : 'ignore'], timeout: 30_000})
  b.cleanup.add(`runc delete ${r.id}`, () => runc(['delete', '--force', r.id]))

  const both = async (verb: string, ...more: string[]) => {
    assertOk(await b.ocirt([verb, ...more.map((m) => (m === 'BUNDLE' ? b.dir : m)), b.id]), verb)
    const rr = runc([verb, ...more.map((m) => (m === 'BUNDLE' ? r.dir : m)), r.id])
    assert.equal(rr.status, 0, `runc ${verb} failed`)
  }
  const compare = async (status: string) => {
    const mine = await stateOf(b)
    const theirs = JSON.parse(runc(['state', r.id]).stdout)
    assert.deepEqual(Object.keys(mine), Object.keys(theirs), `keys when ${status}`)
    assert.equal(mine.status, status)
    assert.equal(theirs.status, status)
    assert.equal(mine.ociVersion, theirs.ociVersion)
    assert.equal(mine.id, b.id)
    assert.equal(mine.bundle, b.dir)
    assert.equal(mine.rootfs, theirs.rootfs)
    assert.deepEqual(mine.annotations, theirs.annotations)
    assert.ok(!Number.isNaN(Date.parse(mine.created as string)), `created ${mine.created}`)
  }
  await both('create', '--bundle', 'BUNDLE')
  await compare('created')
  await both('start')
  await compare('running')
  await both('kill')
  await waitStatus(b, 'stopped')
  await waitFor('runc container stopped', () => JSON.parse(runc(['state', r.id]).stdout).status === 'stopped')
  await compare('stopped')
  assert.equal((await stateOf(b)).pid, 0, 'a stopped container reports pid 0, as runc')
})

test('start of a container that is already running fails', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'sleep', '30']}})
  assertOk(await b.ocirt(['create', '--bundle', b.dir, b.id]), 'create')
  assertOk(await b.ocirt(['start', b.id]), 'first start')
  const second = await b.ocirt(['start', b.id])
  expectFail(second, b.id)
  assert.match(second.stderr, /running/)
  assert.equal((await stateOf(b)).status, 'running', 'the container is unaffected')
})

test('create with an id in use fails with runc\'s "already exists" and leaves the first container alone', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'sleep', '30']}})
  assertOk(await b.ocirt(['create', '--bundle', b.dir, b.id]), 'create')
  const before = await stateOf(b)
  const other = makeBundle(t, {process: {args: [PROBE, 'true']}})
  const again = await b.ocirt(['create', '--bundle', other.dir, b.id])
  expectFail(again, 'container with given ID already exists')
  assert.ok(again.stderr.includes(b.id), 'the error names the container')
  const after = await stateOf(b)
  assert.deepEqual(after, before)
  assert.ok(alive(after.pid))
})
