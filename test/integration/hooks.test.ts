// OCI hooks on real containers: every phase runs at its moment with the state JSON on stdin (compared with
// runc on a twin bundle), a failing prestart/createRuntime/createContainer hook makes create fail and leaves
// nothing behind, a failing poststart/poststop hook is only a warning, and a hook that outlives its timeout.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type {Hook, Hooks} from '../../src/core/spec/types'
import {assertOk} from '../helpers/ocirt'
import {requires} from '../helpers/requires'
import {alive, cgroupDirsLeft, containerBundle, expectFail, stateOf, waitStatus, type TestBundle} from '../helpers/containers'
import {PROBE} from '../helpers/paths'

// appends "PHASE <state JSON>" to the log named by $2
const SCRIPT = '#!/bin/sh\necho "$1 $(cat)" >> "$2"\n'
const PHASES = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const
type Phase = (typeof PHASES)[number]

interface HookBundle extends TestBundle {
  log: string
  entries(): {phase: string; state: Record<string, unknown>}[]
}

/**
 * A bundle with its own rootfs copy holding /hook.sh (startContainer hooks run in the container) and a host
 * copy of the script; the log directory is bind-mounted at /hooklog so both sides append to one file.
 */
function hookBundle(t: Parameters<typeof containerBundle>[0], hooks: (h: (phase: string, extra?: Partial<Hook>) => Hook) => Hooks): HookBundle {
  const b = containerBundle(t, {process: {args: [PROBE, 'sleep', '60']}}, {copyRootfs: true}) as HookBundle
  const base = path.dirname(b.dir)
  const logDir = path.join(base, 'hooklog')
  fs.mkdirSync(logDir)
  fs.writeFileSync(path.join(base, 'hook.sh'), SCRIPT, {mode: 0o755})
  fs.writeFileSync(path.join(b.rootfsDir, 'hook.sh'), SCRIPT, {mode: 0o755})
  b.log = path.join(logDir, 'log')
  const make = (phase: string, extra: Partial<Hook> = {}): Hook => phase === 'startContainer'
    ? {path: '/hook.sh', args: ['hook.sh', phase, '/hooklog/log'], ...extra}
    : {path: path.join(base, 'hook.sh'), args: ['hook.sh', phase, b.log], ...extra}
  b.writeSpec((s) => {
    s.hooks = hooks(make)
    s.mounts!.push({destination: '/hooklog', type: 'bind', source: logDir, options: ['rbind', 'rw']})
  })
  b.entries = () => (fs.existsSync(b.log) ? fs.readFileSync(b.log, 'utf8') : '').split('\n').filter(Boolean).map((l) => {
    const i = l.indexOf(' ')
    return {phase: l.slice(0, i), state: JSON.parse(l.slice(i + 1))}
  })
  return b
}

const allPhases = (h: (phase: string) => Hook): Hooks => Object.fromEntries(PHASES.map((p) => [p, [h(p)]]))

/** What is left of a container: its state dir, cgroup dirs, processes of the given pids. */
function leftovers(b: TestBundle, pids: number[] = []): string[] {
  return [
    ...(fs.existsSync(path.join(b.root, b.id)) ? [`state dir ${path.join(b.root, b.id)}`] : []),
    ...cgroupDirsLeft(b.cgroupsPath).map((d) => `cgroup ${d}`),
    ...pids.filter(alive).map((p) => `pid ${p}`),
  ]
}

test('every hook phase runs at its moment with the state JSON on stdin, as with runc', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'runc')) return
  const b = hookBundle(t, allPhases)
  b.writeSpec({annotations: {'org.test.hooks': 'yes'}})
  assertOk(await b.ocirt(['create', '--bundle', b.dir, b.id]), 'create')
  assert.deepEqual(b.entries().map((e) => e.phase), ['prestart', 'createRuntime', 'createContainer'])
  assertOk(await b.ocirt(['start', b.id]), 'start')
  assert.deepEqual(b.entries().map((e) => e.phase).slice(3), ['startContainer', 'poststart'])
  const {pid} = await stateOf(b)
  assertOk(await b.ocirt(['kill', b.id, 'KILL']), 'kill')
  await waitStatus(b, 'stopped')
  assertOk(await b.ocirt(['delete', b.id]), 'delete')
  const mine = b.entries()
  assert.deepEqual(mine.map((e) => e.phase), [...PHASES])
  for (const e of mine) {
    assert.equal(e.state.id, b.id, `${e.phase}: id`)
    assert.equal(e.state.bundle, b.dir, `${e.phase}: bundle`)
    // the host pid in every phase (runc gives createContainer hooks the pid inside the container: 1)
    if (e.phase !== 'poststop') assert.equal(e.state.pid, pid, `${e.phase}: pid`)
  }
  assert.deepEqual(mine.map((e) => e.state.status), ['creating', 'creating', 'creating', 'created', 'running', 'stopped'])

  // the runc twin: same hooks, same sequence of verbs
  const r = hookBundle(t, allPhases)
  r.writeSpec({annotations: {'org.test.hooks': 'yes'}})
  r.id += '-runc'
  const runc = (...args: string[]) => spawnSync('runc', ['--root', r.root, ...args], {stdio: 'ignore', timeout: 30_000}).status
  r.cleanup.add(`runc delete ${r.id}`, () => runc('delete', '--force', r.id))
  assert.equal(runc('create', '--bundle', r.dir, r.id), 0, 'runc create')
  assert.equal(runc('start', r.id), 0, 'runc start')
  assert.equal(runc('kill', r.id, 'KILL'), 0, 'runc kill')
  for (let i = 0; i < 100 && runc('delete', r.id) !== 0; i++) await new Promise((res) => setTimeout(res, 20))
  // runc races its poststart hooks against the init's startContainer hooks, so compare by phase, not order
  const theirs = Object.fromEntries(r.entries().map((e) => [e.phase, e.state]))
  assert.deepEqual(Object.keys(theirs).sort(), [...PHASES].sort(), 'runc ran every phase once')
  for (const e of mine) {
    // runc 1.1 still says "created" to poststart hooks; the process has been executed by then: "running"
    if (e.phase !== 'poststart') assert.equal(e.state.status, theirs[e.phase].status, `${e.phase}: status as runc`)
    assert.deepEqual(Object.keys(e.state).sort(), Object.keys(theirs[e.phase]).sort(), `${e.phase}: the state's keys as runc`)
  }
})

test('poststart hooks run after the startContainer hooks and the user\'s process started (the spec\'s order)', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = hookBundle(t, (h) => ({
    startContainer: [{path: '/bin/sh', args: ['sh', '-c', 'sleep 0.3']}, h('startContainer')],
    poststart: [h('poststart')],
  }))
  assertOk(await b.ocirt(['create', '--bundle', b.dir, b.id]), 'create')
  assertOk(await b.ocirt(['start', b.id]), 'start')
  assert.deepEqual(b.entries().map((e) => e.phase), ['startContainer', 'poststart'], 'both ran before start returned, in order')
  const {pid} = await stateOf(b)
  assert.equal(fs.readlinkSync(`/proc/${pid}/exe`), '/bin/probe', 'the user\'s process runs when start returns')
})

test('a failing startContainer hook makes start fail and stops the container', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = hookBundle(t, () => ({startContainer: [{path: '/bin/sh', args: ['sh', '-c', 'exit 4']}]}))
  assertOk(await b.ocirt(['create', '--bundle', b.dir, b.id]), 'create')
  const r = await b.ocirt(['start', b.id])
  expectFail(r, `start ${b.id}: startContainer hooks: a startContainer hook failed`)
  await waitStatus(b, 'stopped')
})

test('prestart hooks run in the bundle directory, as with runc', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = hookBundle(t, () => ({prestart: [{path: '/bin/sh', args: ['sh', '-c', 'pwd > prestart.cwd']}]}))
  assertOk(await b.ocirt(['create', '--bundle', b.dir, b.id]), 'create')
  assert.equal(fs.readFileSync(path.join(b.dir, 'prestart.cwd'), 'utf8').trim(), fs.realpathSync(b.dir))
})

for (const phase of ['prestart', 'createRuntime', 'createContainer'] as Phase[]) {
  test(`a failing ${phase} hook makes create fail and leaves nothing behind`, async (t) => {
    if (!requires(t, 'root', 'probe', 'ocirt')) return
    const b = hookBundle(t, (h) => ({[phase]: [h(phase), {path: '/bin/sh', args: ['sh', '-c', 'echo broken hook >&2; exit 7']}]}))
    const r = await b.ocirt(['create', '--bundle', b.dir, b.id])
    expectFail(r, `create ${b.id}: ${phase} hook #1`)
    assert.match(r.stderr, /exit status 7/)
    assert.equal(b.entries().length, 1, 'the first hook ran')
    const pid = b.entries()[0].state.pid as number
    assert.deepEqual(leftovers(b, [pid]), [])
    expectFail(await b.ocirt(['state', b.id]), 'container does not exist')
  })
}

for (const phase of ['poststart', 'poststop'] as Phase[]) {
  test(`a failing ${phase} hook is only a warning`, async (t) => {
    if (!requires(t, 'root', 'probe', 'ocirt')) return
    const b = hookBundle(t, (h) => ({[phase]: [{path: '/bin/false', args: ['false']}, h(phase)]}))
    assertOk(await b.ocirt(['create', '--bundle', b.dir, b.id]), 'create')
    const start = assertOk(await b.ocirt(['start', b.id]), 'start')
    const {pid} = await stateOf(b)
    if (phase === 'poststart') {
      assert.match(start.stderr, /warning.*poststart hook #0.*exit status 1/)
      assert.equal((await stateOf(b)).status, 'running', 'the container keeps running')
    }
    const del = assertOk(await b.ocirt(['delete', '--force', b.id]), 'delete --force')
    if (phase === 'poststop') assert.match(del.stderr, /warning.*poststop hook #0.*exit status 1/)
    assert.deepEqual(b.entries().map((e) => e.phase), [phase], 'the next hook of the phase still ran')
    assert.deepEqual(leftovers(b, [pid]), [])
  })
}

test('a hook that outlives its timeout is killed and fails create', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = hookBundle(t, () => ({createRuntime: [{path: '/bin/sh', args: ['sh', '-c', 'echo $$ > "$0"; exec sleep 30', 'PIDFILE'], timeout: 1}]}))
  const pidFile = path.join(path.dirname(b.dir), 'hook.pid')
  b.writeSpec((s) => {
    s.hooks!.createRuntime![0].args![3] = pidFile
  })
  const began = Date.now()
  const r = await b.ocirt(['create', '--bundle', b.dir, b.id])
  const took = Date.now() - began
  expectFail(r, `create ${b.id}: createRuntime hook #0`)
  assert.match(r.stderr, /timed out after 1s/)
  assert.ok(took < 10_000, `create gave up after ${took} ms`)
  const hookPid = Number(fs.readFileSync(pidFile, 'utf8'))
  assert.ok(!alive(hookPid), `the hook (pid ${hookPid}) was killed`)
  assert.deepEqual(leftovers(b), [])
})
