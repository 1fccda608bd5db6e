// criu restore started before its images exist and held at its gate (src/core/criu/held.ts), as a migration's
// target starts it before the freeze (src/migrate/agent/held-restore.ts): the restore lets it go, and the container
// goes on counting, born in its own cgroups. Held for another layout than the images have, it is stopped and criu
// spawned as always. Either way nothing of it is left: no process, no mount.
import {test, type TestContext} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {assertOk} from '../helpers/ocirt'
import {requires} from '../helpers/requires'
import {stateOf, waitFor} from '../helpers/containers'
import {assertContinues, counterBundle, images, last, runCounter, type Counter} from '../helpers/counter'
import {createRuntime, type Runtime} from '../../src/core/runtime'
import {restoreLayout, type RestoreLayout} from '../../src/core/lifecycle/checkpoint'
import {checkRestoreInput, restore} from '../../src/core/lifecycle/restore'
import {debugLines} from '../helpers/debug-lines'
import {holdRestore} from '../../src/migrate/agent/held-restore'
import type {HeldCriu} from '../../src/core/criu/held'

const NEEDS = ['root', 'criu', 'probe', 'ocirt', 'cgroup-v1'] as const

const devNull = (): [number, number, number] => [fs.openSync('/dev/null', 'r'), fs.openSync('/dev/null', 'a'), fs.openSync('/dev/null', 'a')]

/** A counter running, its layout, a held criu restore for it (with that layout changed by `alter`), then the checkpoint. */
async function heldThenCheckpoint(t: TestContext, prefix: string, alter: (l: RestoreLayout) => RestoreLayout = (l) => l) {
  const b = counterBundle(t, {idPrefix: prefix})
  await runCounter(b)
  const rt = createRuntime({root: b.root})
  const layout = restoreLayout(rt, b.id, {tmpfsSkeletons: true})
  assert.ok(layout?.tmpfsKeys.some((k) => k.startsWith('ocirt-tmpfs-rw/')), `the empty /dev/shm: ${layout?.tmpfsKeys}`)
  assert.ok(layout, 'a counter (no terminal, nothing joined by path) has a layout to hold a restore for')
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-held-'))
  t.after(() => fs.rmSync(staging, {recursive: true, force: true}))
  const stdio = devNull()
  t.after(() => stdio.forEach((fd) => fs.closeSync(fd)))
  const held = holdRestore(rt, {id: b.id, loaded: checkRestoreInput(rt, b.id, b.dir), stdio, layout: alter(layout), dir: staging})
  assert.ok(held, 'the gate library and the launcher are built')
  t.after(() => held.stop())
  await waitFor('the held criu at its gate', () => held.held)
  const img = images(b)
  // paused first, as a migration's dump is: its empty /dev/shm goes as a writable skeleton, as the layout expects
  assertOk(await b.ocirt(['pause', b.id]), 'pause')
  assertOk(await b.ocirt(['checkpoint', '--image-path', img, b.id]), 'checkpoint')
  return {b, rt, held, img, stdio, staging}
}

async function restoreWith(rt: Runtime, b: Counter, img: string, stdio: [number, number, number], held: HeldCriu): Promise<string[]> {
  const lines = await debugLines(() => restore(rt, {id: b.id, bundle: b.dir, imagePath: img, detach: true, inheritStdio: stdio, heldCriu: held}))
  if ((await stateOf(b)).status === 'paused') assertOk(await b.ocirt(['resume', b.id]), 'resume')
  return lines
}

test('a restore let go from its gate: the counter goes on, in its own cgroups, and nothing is left', async (t) => {
  if (!requires(t, ...NEEDS)) return
  const {b, rt, held, img, stdio, staging} = await heldThenCheckpoint(t, 'held')
  const at = last(b.file)
  const offset = fs.statSync(b.file).size
  const heldPid = held.pid!
  const lines = await restoreWith(rt, b, img, stdio, held)
  assert.ok(held.ran, `the held criu ran the restore:\n${lines.filter((l) => /criu|held/.test(l)).join('\n')}`)
  assert.ok(lines.some((l) => /criu restore \(held\) exited 0/.test(l)))
  assert.ok(!lines.some((l) => /ms run \S+ restore /.test(l)), 'no criu was spawned')
  const s = await stateOf(b)
  assert.equal(s.status, 'running')
  const cgroups = fs.readFileSync(`/proc/${s.pid}/cgroup`, 'utf8')
  for (const h of ['memory', 'freezer', 'pids']) assert.match(cgroups, new RegExp(`^\\d+:${h}:${b.cgroupsPath}$`, 'm'), `${h}: ${cgroups}`)
  assert.match(fs.readFileSync(path.join(staging, 'held-restore', 'criu-restore.conf'), 'utf8'), /^inherit-fd fd\[3\]:/m, 'its options went in its configuration file')
  await assertContinues(b.file, at, offset)
  assert.ok(!fs.existsSync(`/proc/${heldPid}`) || fs.readFileSync(`/proc/${heldPid}/stat`, 'utf8').split(' ')[2] === 'Z', 'criu exited')
  assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(staging), 'no mount of its namespace on the host')
})

const OTHER_LAYOUTS: {what: string; alter: (l: RestoreLayout) => RestoreLayout; reason: RegExp}[] = [
  {what: 'one tmpfs skeleton less', alter: (l) => ({...l, tmpfsKeys: l.tmpfsKeys.slice(1)}), reason: /other tmpfs skeletons/},
  // the same /dev/null, but its read-only copy where the restore hands over a write-only one
  {what: 'stdin where stdout goes', alter: (l) => ({...l, stdio: [1, 0, ...l.stdio.slice(2)]}), reason: /another file or access mode as fd 3/},
]

for (const other of OTHER_LAYOUTS) {
  test(`held for another layout than the images have (${other.what}): stopped, and the restore spawns criu`, async (t) => {
    if (!requires(t, ...NEEDS)) return
    const {b, rt, held, img, stdio} = await heldThenCheckpoint(t, 'held-other', other.alter)
    const at = last(b.file)
    const offset = fs.statSync(b.file).size
    const heldPid = held.pid!
    const lines = await restoreWith(rt, b, img, stdio, held)
    assert.equal(held.ran, false)
    const why = lines.find((l) => /the criu restore held at its gate is not used/.test(l))
    assert.match(why ?? '', other.reason, lines.join('\n'))
    assert.ok(lines.some((l) => /ms run \S+ restore /.test(l)), 'criu was spawned')
    await waitFor('the held criu gone', () => !fs.existsSync(`/proc/${heldPid}`) || fs.readFileSync(`/proc/${heldPid}/stat`, 'utf8').split(' ')[2] === 'Z')
    assert.equal((await stateOf(b)).status, 'running')
    await assertContinues(b.file, at, offset)
  })
}
