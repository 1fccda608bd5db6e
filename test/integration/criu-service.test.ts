// `criu swrk` started ahead of the dump (src/core/criu/service.ts), as a migration starts its source's dump before
// the freeze: checkpoint hands it the dump, the images restore into a container that goes on counting, and a
// service that cannot take the request (gone, or refused) leaves the dump to a criu spawned as always.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import {assertOk} from '../helpers/ocirt'
import {requires} from '../helpers/requires'
import {stateOf} from '../helpers/containers'
import {assertContinues, counterBundle, images, last, runCounter} from '../helpers/counter'
import {createRuntime} from '../../src/core/runtime'
import {checkpoint} from '../../src/core/lifecycle/checkpoint'
import {startCriuService} from '../../src/core/criu/service'
import {debugLines} from '../helpers/debug-lines'

const NEEDS = ['root', 'criu', 'probe', 'ocirt'] as const

test('a dump handed to criu swrk: the checkpoint restores and the counter goes on', async (t) => {
  if (!requires(t, ...NEEDS)) return
  const b = counterBundle(t, {idPrefix: 'swrk'})
  await runCounter(b)
  const rt = createRuntime({root: b.root})
  const service = startCriuService(rt, [])
  t.after(() => service.close())
  await service.ready
  const img = images(b)
  const lines = await debugLines(() => checkpoint(rt, b.id, {imagePath: img, service}))
  assert.ok(service.used, 'the service took the dump')
  assert.ok(lines.some((l) => /criu dump \(swrk\) exited 0/.test(l)), lines.join('\n'))
  assert.match(fs.readFileSync(`${img}/criu-rpc.conf`, 'utf8'), /^log-file dump\.log$/m, 'its options went in a configuration file beside the log')
  assert.equal((await stateOf(b)).status, 'stopped')
  const at = last(b.file)
  const offset = fs.statSync(b.file).size
  assertOk(await b.ocirt(['restore', '-d', '--image-path', img, '--bundle', b.dir, b.id]), 'restore')
  await assertContinues(b.file, at, offset)
})

test('a service that is gone, died after it answered, or was started with other fds leaves the dump to a spawned criu', async (t) => {
  if (!requires(t, ...NEEDS)) return
  const b = counterBundle(t, {idPrefix: 'swrk-gone'})
  await runCounter(b)
  const rt = createRuntime({root: b.root})
  const gone = startCriuService(rt, [])
  gone.close()
  await assert.rejects(gone.ready)
  const lines = await debugLines(() => checkpoint(rt, b.id, {imagePath: images(b), leaveRunning: true, service: gone}))
  assert.ok(!gone.used)
  assert.ok(lines.some((l) => /ms run \S+ dump /.test(l)), `spawned instead:\n${lines.join('\n')}`)

  // one that answered and died since (killed here), before the dump came
  const died = startCriuService(rt, [])
  await died.ready
  process.kill(died.pid!, 'SIGKILL')
  for (let i = 0; i < 100 && died.available; i++) await new Promise((r) => setTimeout(r, 10))
  assert.equal(died.available, false)
  const after = await debugLines(() => checkpoint(rt, b.id, {imagePath: images(b, 'images-died'), leaveRunning: true, service: died}))
  assert.ok(after.some((l) => /ms run \S+ dump /.test(l)), `spawned instead:\n${after.join('\n')}`)

  const fd = fs.openSync('/dev/null', 'r')
  t.after(() => fs.closeSync(fd))
  const other = startCriuService(rt, [fd])
  t.after(() => other.close())
  await other.ready
  await checkpoint(rt, b.id, {imagePath: images(b, 'images2'), leaveRunning: true, service: other})
  assert.ok(!other.used, 'the dump has no extra fds, the service has one: not the same criu command')
  assert.equal((await stateOf(b)).status, 'running')
})
