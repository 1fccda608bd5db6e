// `ocirt run`: the exit status of the container process, stdin relayed, signals forwarded, the container
// deleted afterwards unless --keep, and `run -d` returning while the container runs.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type {ChildProcess} from 'node:child_process'
import {assertOk, spawnOcirt} from '../helpers/ocirt'
import {requires} from '../helpers/requires'
import {alive, cgroupDirsLeft, containerBundle, expectFail, stateOf, waitFor, waitStatus, type TestBundle, exitOf} from '../helpers/containers'
import {PROBE} from '../helpers/paths'

/** ocirt run in the background with piped stdio; stdout collected in `out.text`. */
function startRun(b: TestBundle, extra: string[] = []): {child: ChildProcess; out: {text: string; err: string}} {
  const child = spawnOcirt(['run', ...extra, '--bundle', b.dir, b.id], {root: b.root})
  b.cleanup.pid(child)
  const out = {text: '', err: ''}
  child.stdout!.on('data', (d: Buffer) => (out.text += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (out.err += d.toString()))
  return {child, out}
}

async function assertGone(b: TestBundle): Promise<void> {
  expectFail(await b.ocirt(['state', b.id]), 'container does not exist')
  assert.ok(!fs.existsSync(path.join(b.root, b.id)), 'no state directory')
  assert.deepEqual(cgroupDirsLeft(b.cgroupsPath), [], 'no cgroup directory')
}

test('run returns the exit status of the container process', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'exit', '3']}})
  const r = await b.ocirt(['run', '--bundle', b.dir, b.id])
  assert.equal(r.code, 3, `exit status (stderr: ${r.stderr})`)
  await assertGone(b)

  const ok = containerBundle(t, {process: {args: [PROBE, 'echo', 'fine']}})
  const r0 = assertOk(await ok.ocirt(['run', '--bundle', ok.dir, ok.id]), 'run')
  assert.equal(r0.stdout, 'fine\n')
})

test('a container process killed by SIGKILL from outside makes run exit 137', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'sleep', '60']}})
  const {child, out} = startRun(b)
  await waitStatus(b, 'running')
  const {pid} = await stateOf(b)
  process.kill(pid, 'SIGKILL')
  const exit = await exitOf(child)
  assert.equal(exit.code, 137, `ocirt run exit (stderr: ${out.err})`)
  await assertGone(b)
})

test('stdin is relayed to the container process', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'cat']}})
  const input = 'line one\nline two\n' + 'x'.repeat(100_000) + '\n'
  const r = assertOk(await b.ocirt(['run', '--bundle', b.dir, b.id], {input}), 'run')
  assert.equal(r.stdout, input)
})

test('signals sent to ocirt run are forwarded to the container process', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'signals']}})
  const {child, out} = startRun(b)
  await waitFor('probe ready', () => out.text.includes('ready\n'))
  child.kill('SIGUSR1')
  await waitFor('USR1 reported', () => out.text.includes('USR1\n'))
  child.kill('SIGTERM')
  const exit = await exitOf(child)
  assert.equal(out.text, 'ready\nUSR1\nTERM\n')
  assert.equal(exit.code, 0, `probe exits 0 on TERM (stderr: ${out.err})`)
  await assertGone(b)
})

test('run --keep leaves the stopped container for the caller to delete', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'exit', '5']}})
  const r = await b.ocirt(['run', '--keep', '--bundle', b.dir, b.id])
  assert.equal(r.code, 5, r.stderr)
  const st = await stateOf(b)
  assert.equal(st.status, 'stopped')
  assertOk(await b.ocirt(['delete', b.id]), 'delete')
  await assertGone(b)
})

test('run -d returns while the container runs', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'sleep', '60']}})
  const started = Date.now()
  assertOk(await b.ocirt(['run', '-d', '--bundle', b.dir, b.id], {timeoutMs: 20_000}), 'run -d')
  assert.ok(Date.now() - started < 20_000)
  const st = await stateOf(b)
  assert.equal(st.status, 'running')
  assert.ok(alive(st.pid))
  assertOk(await b.ocirt(['kill', b.id, 'KILL']), 'kill')
  await waitStatus(b, 'stopped')
  assertOk(await b.ocirt(['delete', b.id]), 'delete')
  await assertGone(b)
})

test('in the foreground, only the container\'s processes are in its cgroup (the helper steps out)', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'sleep', '600']}})
  const {child} = startRun(b)
  await waitStatus(b, 'running')
  const {pid} = await stateOf(b)
  const ps = assertOk(await b.ocirt(['ps', '--format', 'json', b.id]), 'ps').json()
  assert.deepEqual(ps, [pid], 'ps lists the container process only')
  const procs = fs.readFileSync(`/sys/fs/cgroup/pids${b.cgroupsPath}/cgroup.procs`, 'utf8').trim().split('\n').map(Number)
  assert.deepEqual(procs, [pid], 'pids cgroup holds the container process only')
  assertOk(await b.ocirt(['kill', b.id, 'KILL']), 'kill')
  assert.equal((await exitOf(child)).code, 137)
})
