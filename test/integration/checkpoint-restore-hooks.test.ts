// Hooks on restore: runc runs prestart, createRuntime and createContainer at CRIU's setup-namespaces step (the
// restored tree and its namespaces exist, nothing runs yet) and poststart once the container runs. ocirt gets
// the step from CRIU through --action-script (src/core/criu/action-script.ts); here each hook appends its phase
// and the state JSON it read on stdin to a log, and a failing hook fails the restore leaving nothing behind.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type {Hook} from '../../src/core/spec/types'
import {assertOk} from '../helpers/ocirt'
import {requires} from '../helpers/requires'
import {alive, cgroupDirsLeft, containerBundle, expectFail, stateOf, type TestBundle} from '../helpers/containers'
import {PROBE} from '../helpers/paths'

// appends "PHASE <state JSON> <whether /proc/<pid> was there>" to the log named by $2; exits $3 (default 0)
const SCRIPT = `#!/bin/sh
state=$(cat)
pid=$(echo "$state" | sed -n 's/.*"pid":\\([0-9]*\\).*/\\1/p')
if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then seen=alive; else seen=absent; fi
echo "$1 $state $seen" >> "$2"
exit \${3:-0}
`

interface HookBundle extends TestBundle {
  log: string
  hook(phase: string, exit?: number): Hook
  entries(): {phase: string; state: Record<string, unknown>; seen: string}[]
}

/** A sleeping container with its own rootfs copy and a log dir bound at /hooklog. */
function hookBundle(t: Parameters<typeof containerBundle>[0]): HookBundle {
  const b = containerBundle(t, {process: {args: [PROBE, 'sleep', '600']}}, {copyRootfs: true, idPrefix: 'crhk'}) as HookBundle
  const base = path.dirname(b.dir)
  const logDir = path.join(base, 'hooklog')
  fs.mkdirSync(logDir)
  fs.writeFileSync(path.join(base, 'hook.sh'), SCRIPT, {mode: 0o755})
  b.log = path.join(logDir, 'log')
  // createContainer hooks run in the container's mount namespace before it is pivoted, so with host paths (as create)
  b.hook = (phase, exit = 0) => ({path: path.join(base, 'hook.sh'), args: ['hook.sh', phase, b.log, String(exit)]})
  b.writeSpec((s) => void s.mounts!.push({destination: '/hooklog', type: 'bind', source: logDir, options: ['rbind', 'rw']}))
  b.entries = () => (fs.existsSync(b.log) ? fs.readFileSync(b.log, 'utf8') : '').split('\n').filter(Boolean).map((l) => {
    const i = l.indexOf(' ')
    const j = l.lastIndexOf(' ')
    return {phase: l.slice(0, i), state: JSON.parse(l.slice(i + 1, j)), seen: l.slice(j + 1)}
  })
  return b
}

test('restore runs prestart, createRuntime and createContainer at setup-namespaces and poststart after, with state on stdin', async (t) => {
  if (!requires(t, 'root', 'criu', 'probe', 'ocirt')) return
  const b = hookBundle(t)
  const img = path.join(path.dirname(b.dir), 'images')
  assertOk(await b.ocirt(['run', '-d', '--bundle', b.dir, b.id]), 'run -d')
  assertOk(await b.ocirt(['checkpoint', '--image-path', img, b.id]), 'checkpoint')

  b.writeSpec((s) => {
    s.annotations = {'org.test.restore': 'yes'}
    s.hooks = {
      prestart: [b.hook('prestart')], createRuntime: [b.hook('createRuntime')],
      createContainer: [b.hook('createContainer')], poststart: [b.hook('poststart')],
    }
  })
  assertOk(await b.ocirt(['restore', '-d', '--image-path', img, '--bundle', b.dir, b.id]), 'restore')
  const st = await stateOf(b)
  assert.equal(st.status, 'running')
  const log = b.entries()
  assert.deepEqual(log.map((e) => e.phase), ['prestart', 'createRuntime', 'createContainer', 'poststart'], fs.readFileSync(b.log, 'utf8'))
  for (const e of log) {
    const status = e.phase === 'poststart' ? 'running' : 'creating'
    assert.deepEqual(e.state, {ociVersion: e.state.ociVersion, id: b.id, status, pid: st.pid, bundle: b.dir, annotations: {'org.test.restore': 'yes'}}, e.phase)
    assert.equal(e.seen, 'alive', `${e.phase}: the restored init existed when the hook ran`)
  }
  assert.equal(fs.readdirSync(path.join(b.root, b.id)).sort().join(' '), 'config.json state.json', 'no action script or fifo left')
})

test('a failing prestart hook fails the restore with its error and leaves nothing behind', async (t) => {
  if (!requires(t, 'root', 'criu', 'probe', 'ocirt')) return
  const b = hookBundle(t)
  const img = path.join(path.dirname(b.dir), 'images')
  assertOk(await b.ocirt(['run', '-d', '--bundle', b.dir, b.id]), 'run -d')
  assertOk(await b.ocirt(['checkpoint', '--image-path', img, b.id]), 'checkpoint')
  b.writeSpec((s) => void (s.hooks = {prestart: [b.hook('prestart', 3)], poststart: [b.hook('poststart')]}))
  expectFail(await b.ocirt(['restore', '-d', '--image-path', img, '--bundle', b.dir, b.id]), /prestart hook #0 .*exit status 3/)
  const log = b.entries()
  assert.deepEqual(log.map((e) => e.phase), ['prestart'], 'poststart did not run')
  const pid = Number(log[0].state.pid)
  assert.ok(pid > 0 && !alive(pid), 'the restored tree is gone')
  expectFail(await b.ocirt(['state', b.id]), 'container does not exist')
  assert.ok(!fs.existsSync(path.join(b.root, b.id)), 'no state directory')
  assert.deepEqual(cgroupDirsLeft(b.cgroupsPath), [], 'no cgroup')
})
