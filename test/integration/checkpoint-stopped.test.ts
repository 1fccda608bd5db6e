// What a checkpoint without --leave-running leaves: a stopped container (state, list), its state recording the
// checkpoint and the image path, its poststop hooks run at the checkpoint (as runc runs them) and never again, its
// empty cgroup kept until delete. A restore
// under its id takes it over, but only once the restore's input is checked; a restore that fails after that leaves
// the id free and the images intact. Any other container holding the id keeps it. Workload: helpers/counter.ts.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {assertOk} from '../helpers/ocirt'
import {requires} from '../helpers/requires'
import {alive, cgroupDirsLeft, expectFail, sleep, stateOf, waitFor, waitStatus, type TestBundle} from '../helpers/containers'
import {PROBE} from '../helpers/paths'
import {assertContinues, counterBundle, images, last, runCounter, type Counter} from '../helpers/counter'

const NEEDS = ['root', 'criu', 'probe', 'ocirt'] as const

/** A counter whose poststop hook appends the state it reads on stdin, one line per run, to <base>/poststop.log. */
function counterWithPoststop(t: Parameters<typeof counterBundle>[0]): Counter & {poststops(): Record<string, unknown>[]} {
  const b = counterBundle(t, {idPrefix: 'ckstop'}) as Counter & {poststops(): Record<string, unknown>[]}
  const log = path.join(path.dirname(b.dir), 'poststop.log')
  b.writeSpec((s) => void (s.hooks = {poststop: [{path: '/bin/sh', args: ['sh', '-c', `cat >> ${log}; echo >> ${log}`]}]}))
  b.poststops = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '').split('\n').filter(Boolean).map((l) => JSON.parse(l))
  return b
}

function procsIn(cgroupsPath: string): number[] {
  return cgroupDirsLeft(cgroupsPath).flatMap((d) => fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number))
}

function stateFile(b: TestBundle): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(b.root, b.id, 'state.json'), 'utf8'))
}

test('after a checkpoint the container is stopped and listed, with its empty cgroup; poststop once, at the checkpoint', async (t) => {
  if (!requires(t, ...NEEDS)) return
  const b = counterWithPoststop(t)
  const pid = await runCounter(b)
  const img = images(b)
  assertOk(await b.ocirt(['checkpoint', '--image-path', img, b.id]), 'checkpoint')
  assert.ok(!alive(pid), 'CRIU killed the init')

  const st = await stateOf(b)
  assert.equal(st.status, 'stopped')
  assert.equal(st.pid, 0, 'pid 0, as for any stopped container')
  const listed = JSON.parse(assertOk(await b.ocirt(['list', '--format', 'json']), 'list').stdout) as {id: string; status: string}[]
  assert.deepEqual(listed.map((c) => [c.id, c.status]), [[b.id, 'stopped']])
  const recorded = stateFile(b).checkpointed as {imagePath: string; time: string; poststopRan: boolean}
  assert.equal(recorded.imagePath, img, 'state.json records where the images are')
  assert.ok(!Number.isNaN(Date.parse(recorded.time)))
  assert.notDeepEqual(cgroupDirsLeft(b.cgroupsPath), [], 'the cgroup stays until delete, as after an exit')
  assert.deepEqual(procsIn(b.cgroupsPath), [], 'and is empty')
  assert.equal(recorded.poststopRan, true)
  assert.deepEqual(b.poststops().map((s) => [s.id, s.status, s.pid]), [[b.id, 'stopped', undefined]], 'poststop ran at the checkpoint, with the stopped state on stdin')
  expectFail(await b.ocirt(['kill', b.id, 'KILL']), 'container not running')
  expectFail(await b.ocirt(['checkpoint', '--image-path', images(b, 'again'), b.id]), 'Container cannot be checkpointed in stopped state')
  const at = last(b.file)
  await sleep(200)
  assert.equal(last(b.file), at, 'nothing counts')

  assertOk(await b.ocirt(['delete', b.id]), 'delete')
  assert.ok(!fs.existsSync(path.join(b.root, b.id)), 'no state directory')
  assert.deepEqual(cgroupDirsLeft(b.cgroupsPath), [], 'no cgroup')
  assert.equal(b.poststops().length, 1, 'delete did not run poststop again')
  assert.ok(fs.existsSync(path.join(img, 'inventory.img')) && fs.existsSync(path.join(img, 'ocirt-checkpoint.json')), 'the images stay')
  expectFail(await b.ocirt(['delete', b.id]), 'container does not exist')
})

test('delete --force of a container stopped by its checkpoint works as delete does', async (t) => {
  if (!requires(t, ...NEEDS)) return
  const b = counterWithPoststop(t)
  await runCounter(b)
  assertOk(await b.ocirt(['checkpoint', '--image-path', images(b), b.id]), 'checkpoint')
  assertOk(await b.ocirt(['delete', '--force', b.id]), 'delete --force')
  assert.ok(!fs.existsSync(path.join(b.root, b.id)))
  assert.deepEqual(cgroupDirsLeft(b.cgroupsPath), [])
  assert.equal(b.poststops().length, 1, 'poststop once, at the checkpoint')
})

test('restore under the id: refused input keeps the stopped container; then it is taken over and counts on', async (t) => {
  if (!requires(t, ...NEEDS)) return
  const b = counterWithPoststop(t)
  await runCounter(b)
  const img = images(b)
  assertOk(await b.ocirt(['checkpoint', '--image-path', img, b.id]), 'checkpoint')
  const at = last(b.file)
  const offset = fs.statSync(b.file).size
  const stopped = await stateOf(b)

  // a config without the bind mount the checkpoint has: refused before the stopped container is touched
  const spec = fs.readFileSync(path.join(b.dir, 'config.json'), 'utf8')
  b.writeSpec((s) => void (s.mounts = s.mounts!.filter((m) => m.destination !== '/out')))
  expectFail(await b.ocirt(['restore', '-d', '--image-path', img, '--bundle', b.dir, b.id]), "bind mounts that the bundle's config.json lacks: /out")
  assert.deepEqual(await stateOf(b), stopped, 'still the stopped container')
  assert.notDeepEqual(cgroupDirsLeft(b.cgroupsPath), [], 'with its cgroup')
  assert.equal(b.poststops().length, 1, 'poststop ran at the checkpoint')
  fs.writeFileSync(path.join(b.dir, 'config.json'), spec)

  assertOk(await b.ocirt(['restore', '-d', '--image-path', img, '--bundle', b.dir, b.id]), 'restore')
  const st = await stateOf(b)
  assert.equal(st.status, 'running')
  await assertContinues(b.file, at, offset)
  assert.equal(b.poststops().length, 1, 'the takeover did not run the old container\'s poststop again')
  const facts = stateFile(b)
  assert.equal(facts.restored, true)
  assert.equal(facts.checkpointed, undefined, 'the restored container is a new one')
  assert.match(fs.readFileSync(`/proc/${st.pid}/cgroup`, 'utf8'), new RegExp(`:memory:${b.cgroupsPath}\n`), 'in the cgroup again')

  // a restore onto the running container is refused and leaves it running
  expectFail(await b.ocirt(['restore', '-d', '--image-path', img, '--bundle', b.dir, b.id]), 'container with given ID already exists')
  assert.deepEqual(await stateOf(b), st)
  const n = last(b.file)
  await waitFor('counting on', () => last(b.file) > n + 1)

  assertOk(await b.ocirt(['delete', '--force', b.id]), 'delete')
  assert.equal(b.poststops().length, 2, 'and the restored container\'s poststop at its delete')
  assert.deepEqual(cgroupDirsLeft(b.cgroupsPath), [])
})

test('a restore that fails after taking the id over leaves it free and the images intact; a second restore works', async (t) => {
  if (!requires(t, ...NEEDS)) return
  const b = counterWithPoststop(t)
  await runCounter(b)
  const img = images(b)
  assertOk(await b.ocirt(['checkpoint', '--image-path', img, b.id]), 'checkpoint')
  const at = last(b.file)
  const imagesBefore = fs.readdirSync(img).filter((f) => f.endsWith('.img') || f.endsWith('.json')).sort()

  // the counter's open file is missing: the input is fine, CRIU fails half-way
  fs.renameSync(b.file, `${b.file}.away`)
  const r = await b.ocirt(['restore', '-d', '--image-path', img, '--bundle', b.dir, b.id])
  expectFail(r, /criu restore exited with status 1/)
  assert.match(r.stderr, /the container stopped by the checkpoint was removed before this restore failed; the images in .* are intact/)
  expectFail(await b.ocirt(['state', b.id]), 'container does not exist')
  assert.deepEqual(cgroupDirsLeft(b.cgroupsPath), [], 'no cgroup')
  assert.equal(b.poststops().length, 1, 'the old container\'s poststop ran once')
  assert.deepEqual(fs.readdirSync(img).filter((f) => f.endsWith('.img') || f.endsWith('.json')).sort(), imagesBefore, 'the images are all there')

  fs.renameSync(`${b.file}.away`, b.file)
  const offset = fs.statSync(b.file).size
  assertOk(await b.ocirt(['restore', '-d', '--image-path', img, '--bundle', b.dir, b.id]), 'restore again')
  await assertContinues(b.file, at, offset)
  assert.equal(b.poststops().length, 1, 'nothing more to tear down')
})

test('restore onto a stopped container that no checkpoint stopped is refused; under another id the stopped one stays', async (t) => {
  if (!requires(t, ...NEEDS)) return
  const a = counterBundle(t, {idPrefix: 'ckstop'})
  await runCounter(a)
  const img = images(a)
  assertOk(await a.ocirt(['checkpoint', '--image-path', img, a.id]), 'checkpoint')
  const at = last(a.file)
  const offset = fs.statSync(a.file).size

  const s = counterBundle(a.cleanup, {idPrefix: 'ckstopx'})
  s.writeSpec((spec) => void (spec.process!.args = [PROBE, 'true']))
  assertOk(await s.ocirt(['run', '-d', '--bundle', s.dir, s.id]), 'run')
  await waitStatus(s, 'stopped')
  expectFail(await s.ocirt(['restore', '-d', '--image-path', img, '--bundle', a.dir, s.id]), 'container with given ID already exists')
  assert.equal((await stateOf(s)).status, 'stopped', 'the exited container is left as it was')

  // another id, same bundle and so the same cgroup: the stopped record stays, and deleting it spares the restored one
  const other = `${a.id}-2`
  a.cleanup.container(other, a.root)
  assertOk(await a.ocirt(['restore', '-d', '--image-path', img, '--bundle', a.dir, other]), 'restore under another id')
  assert.equal((await stateOf(a)).status, 'stopped')
  await assertContinues(a.file, at, offset)
  assertOk(await a.ocirt(['delete', a.id]), 'delete the stopped one')
  const st = JSON.parse(assertOk(await a.ocirt(['state', other]), 'state').stdout) as {status: string; pid: number}
  assert.equal(st.status, 'running', 'the restored container runs on')
  assert.ok(procsIn(a.cgroupsPath).includes(st.pid), 'in the cgroup that the delete left to it')
  const n = last(a.file)
  await waitFor('counting on', () => last(a.file) > n + 1)
})
