// OCI runtime-spec conformance, runtime.md, config.md (hooks, process) and features.md: the clauses of
// docs/conformance.md that no per-area file proved yet, each on real containers. Test names start with the
// spec file and section they prove.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {assertOk} from '../helpers/ocirt'
import {requires} from '../helpers/requires'
import {cgroupDirsLeft, containerBundle, createWithOutput, expectFail, nsOf, readOut, runOut, stateOf, waitFor, waitStatus} from '../helpers/containers'
import {OCIRT_BIN, PROBE} from '../helpers/paths'

const sleeper = {process: {args: [PROBE, 'sleep', '60']}}

test('runtime.md Create: editing config.json after create changes nothing; start runs the process as created', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'echo', 'as-created']}})
  assertOk(await createWithOutput(b), 'create')
  b.writeSpec((s) => {
    s.process!.args = [PROBE, 'echo', 'edited']
  })
  assertOk(await b.ocirt(['start', b.id]), 'start')
  await waitFor('the container\'s output', () => readOut(b).endsWith('\n'))
  assert.equal(readOut(b), 'as-created\n')
})

test('runtime.md Create/Start: a config without process is refused at create (start needs it); nothing is made', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, (s) => {
    delete s.process
  })
  expectFail(await b.ocirt(['create', '--bundle', b.dir, b.id]), `create ${b.id}: validate config: process: must be specified`)
  expectFail(await b.ocirt(['state', b.id]), 'container does not exist')
  assert.deepEqual(cgroupDirsLeft(b.cgroupsPath), [])
})

test('runtime.md Start: starting a stopped container fails and leaves its state as it was', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t)
  assertOk(await b.ocirt(['create', '--bundle', b.dir, b.id]), 'create')
  assertOk(await b.ocirt(['start', b.id]), 'start')
  await waitStatus(b, 'stopped')
  const before = await stateOf(b)
  expectFail(await b.ocirt(['start', b.id]), `start ${b.id}: cannot start a container that has stopped`)
  assert.deepEqual(await stateOf(b), before)
})

test('runtime.md Query State/Start/Kill/Delete: a container that does not exist is an error', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t)
  for (const args of [['state'], ['start'], ['kill'], ['kill', '--all'], ['delete'], ['pause'], ['resume']]) {
    const verb = args[0]
    expectFail(await b.ocirt([...args, `${b.id}-none`]), `${verb} ${b.id}-none: container does not exist`)
  }
})

test('runtime.md Delete: the parent cgroups create made are removed; one that existed before is kept', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'cgroup-v1')) return
  const b = containerBundle(t, sleeper)
  const parent = b.cgroupsPath // registered with the cleanup by containerBundle, with everything below it
  const theirs = path.join('/sys/fs/cgroup/pids', parent)
  fs.mkdirSync(theirs)
  b.writeSpec((s) => {
    s.linux!.cgroupsPath = `${parent}/leaf`
  })
  assertOk(await b.ocirt(['create', '--bundle', b.dir, b.id]), 'create')
  assert.ok(fs.existsSync(path.join('/sys/fs/cgroup/memory', parent, 'leaf')), 'the leaf exists')
  assert.ok(cgroupDirsLeft(parent).length > 1, 'create made the parent in the other hierarchies')
  assertOk(await b.ocirt(['delete', '--force', b.id]), 'delete --force')
  assert.deepEqual(cgroupDirsLeft(parent), [theirs], 'only the parent that was there before create is left')
})

test('runtime.md Delete: what the container did not create stays: a joined network namespace, a bind source', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, sleeper)
  const netns = `ocirt-conf-${b.id}`.slice(0, 40)
  assert.equal(spawnSync('ip', ['netns', 'add', netns]).status, 0, 'ip netns add')
  b.cleanup.netns(netns)
  const src = path.join(path.dirname(b.dir), 'volume')
  fs.mkdirSync(src)
  fs.writeFileSync(path.join(src, 'keep'), 'data')
  b.writeSpec((s) => {
    s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === 'network' ? {type: 'network', path: `/run/netns/${netns}`} : n))
    s.mounts!.push({destination: '/mnt', type: 'bind', source: src, options: ['rbind', 'rw']})
  })
  assertOk(await b.ocirt(['create', '--bundle', b.dir, b.id]), 'create')
  assertOk(await b.ocirt(['start', b.id]), 'start')
  const {pid} = await stateOf(b)
  const joined = nsOf(pid, 'net')
  assertOk(await b.ocirt(['kill', b.id, 'KILL']), 'kill')
  await waitStatus(b, 'stopped')
  assertOk(await b.ocirt(['delete', b.id]), 'delete')
  const ipNetns = spawnSync('ip', ['netns', 'exec', netns, 'readlink', '/proc/self/ns/net'], {encoding: 'utf8'})
  assert.equal(ipNetns.status, 0, `the network namespace still exists: ${ipNetns.stderr}`)
  assert.equal(ipNetns.stdout.trim(), joined, 'and it is the one the container joined')
  assert.equal(fs.readFileSync(path.join(src, 'keep'), 'utf8'), 'data', 'the bind source and its content stay')
})

test('config.md process.oomScoreAdj: when unset, the container keeps the oom_score_adj of the caller', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'read', '/proc/self/oom_score_adj']}})
  // the shell sets its own value, then becomes ocirt: the container must inherit 321 unchanged
  const r = spawnSync('sh', ['-c', 'echo 321 > /proc/self/oom_score_adj && exec "$@"', 'sh', OCIRT_BIN, '--root', b.root, 'run', '--bundle', b.dir, b.id],
    {encoding: 'utf8', timeout: 60_000})
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout.trim(), '321')
})

test('features.md ociVersionMin/ociVersionMax: both values of `ocirt features` are accepted as a config\'s ociVersion', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b0 = containerBundle(t)
  const f = assertOk(await b0.ocirt(['features']), 'features').json() as {ociVersionMin: string; ociVersionMax: string}
  assert.match(f.ociVersionMin, /^1\.\d+\.\d+/)
  assert.ok(f.ociVersionMax.localeCompare(f.ociVersionMin, undefined, {numeric: true}) >= 0, 'max is not below min')
  for (const v of [f.ociVersionMin, f.ociVersionMax]) {
    const b = containerBundle(t, {ociVersion: v, process: {args: [PROBE, 'echo', v]}})
    assert.equal(await runOut(b), `${v}\n`, `ociVersion ${v}`)
  }
})

/**
 * A host hook script: reads the state on stdin and records, for the container's init and for itself, what
 * the clauses on hook timing speak of. $1 phase, $2 log file, $3 rootfs path on the host.
 */
const TIMING_HOOK = `#!/bin/sh
state=$(cat)
pid=$(echo "$state" | sed -n 's/.*"pid": *\\([0-9]*\\).*/\\1/p')
{
  echo "phase=$1"
  echo "init_net=$(readlink /proc/$pid/ns/net)"
  echo "init_mnt=$(readlink /proc/$pid/ns/mnt)"
  echo "init_exe=$(readlink /proc/$pid/exe)"
  if [ -e "/proc/$pid/root$3/bin/probe" ]; then echo "pivoted=no"; else echo "pivoted=yes"; fi
  if grep -q " $3/proc " /proc/$pid/mountinfo; then echo "proc_mounted=yes"; else echo "proc_mounted=no"; fi
  echo "self_net=$(readlink /proc/self/ns/net)"
  echo "self_mnt=$(readlink /proc/self/ns/mnt)"
  echo "hookvar=$HOOKVAR leak=$OCIRT_CONF_LEAK"
  echo "--"
} >> "$2"
`

test('config.md hooks: prestart/createRuntime run in the runtime namespace once the container\'s namespaces and mounts exist, before pivot_root and the user process; createContainer in the container\'s namespaces; env is the hook\'s own', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, sleeper)
  const base = path.dirname(b.dir)
  const script = path.join(base, 'timing.sh')
  const log = path.join(base, 'timing.log')
  fs.writeFileSync(script, TIMING_HOOK, {mode: 0o755})
  const rootfs = fs.realpathSync(b.rootfsDir)
  const hook = (phase: string) => ({path: script, args: ['timing.sh', phase, log, rootfs], env: ['HOOKVAR=given']})
  b.writeSpec((s) => {
    s.hooks = {prestart: [hook('prestart')], createRuntime: [hook('createRuntime')], createContainer: [hook('createContainer')]}
  })
  assertOk(await b.ocirt(['create', '--bundle', b.dir, b.id], {env: {OCIRT_CONF_LEAK: 'from-ocirt'}}), 'create')
  const {pid} = await stateOf(b)
  const entries = fs.readFileSync(log, 'utf8').split('--\n').filter(Boolean)
    .map((e) => Object.fromEntries(e.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])))
  assert.deepEqual(entries.map((e) => e.phase), ['prestart', 'createRuntime', 'createContainer'])
  const container = {net: nsOf(pid, 'net'), mnt: nsOf(pid, 'mnt')}
  assert.notEqual(container.net, nsOf('self', 'net'))
  for (const e of entries) {
    assert.equal(e.init_net, container.net, `${e.phase}: the container's network namespace exists`)
    assert.equal(e.init_mnt, container.mnt, `${e.phase}: the container's mount namespace exists`)
    assert.equal(e.pivoted, 'no', `${e.phase}: before pivot_root`)
    assert.equal(e.proc_mounted, 'yes', `${e.phase}: the config's mounts are done`)
    assert.ok(!e.init_exe.endsWith('/bin/probe'), `${e.phase}: the user process is not executed yet (exe ${e.init_exe})`)
    assert.equal(e.hookvar, 'given leak=', `${e.phase}: the hook's env only`)
  }
  for (const e of entries.slice(0, 2)) {
    assert.equal(e.self_net, nsOf('self', 'net'), `${e.phase}: runs in the runtime's network namespace`)
    assert.equal(e.self_mnt, nsOf('self', 'mnt'), `${e.phase}: runs in the runtime's mount namespace`)
  }
  assert.equal(entries[2].self_net, container.net, 'createContainer runs in the container\'s network namespace')
  assert.equal(entries[2].self_mnt, container.mnt, 'createContainer runs in the container\'s mount namespace')
})

test('config.md Extensibility: unknown properties are ignored, at the top, in process and in linux', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, (s) => {
    const loose = s as unknown as Record<string, Record<string, unknown>>
    loose['org.example.future'] = {anything: [1, 2]}
    loose.process.futureKnob = true
    loose.linux.futureSection = {x: 'y'}
    s.process!.args = [PROBE, 'echo', 'ran']
  })
  assert.equal(await runOut(b), 'ran\n')
})
