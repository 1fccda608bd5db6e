// restore's takeover of an id on state records alone (no cgroup: empty cgroup paths): only a stopped container
// whose checkpoint stopped it is removed; any other holder of the id gets runc's "already exists".
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {createRuntime, type Runtime} from '../../../src/core/runtime'
import {reserveId, saveConfig, saveFacts} from '../../../src/core/state/store'
import {readProcStat} from '../../../src/core/state/status'
import {takeOverCheckpointed} from '../../../src/core/lifecycle/restore-takeover'
import type {ContainerFacts} from '../../../src/core/state/facts'

function tmpRuntime(t: {after: (fn: () => void) => void}): Runtime {
  const root = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-ckstop-')), 'root')
  t.after(() => fs.rmSync(path.dirname(root), {recursive: true, force: true}))
  return {...createRuntime({root}), rootless: false}
}

function record(rt: Runtime, id: string, more: Partial<ContainerFacts>): void {
  reserveId(rt, id, 'test')
  saveConfig(rt, id, {ociVersion: '1.0.2', root: {path: 'rootfs'}})
  saveFacts(rt, {
    ociVersion: '1.0.2', id, pid: 0, pidStartTime: '', bundle: '/nonexistent', rootfs: '/nonexistent/rootfs',
    created: new Date().toISOString(), owner: 'root', annotations: {}, cgroup: {version: 'v1', path: '', paths: {}},
    namespaces: {}, rootless: false, terminal: false, ...more,
  })
}

test('a free id: nothing to take over', async (t) => {
  const rt = tmpRuntime(t)
  assert.equal(await takeOverCheckpointed(rt, 'free', 'restore'), false)
})

test('a stopped container its checkpoint stopped is removed; its image directory is not touched', async (t) => {
  const rt = tmpRuntime(t)
  const img = path.join(path.dirname(rt.root), 'img')
  fs.mkdirSync(img)
  fs.writeFileSync(path.join(img, 'inventory.img'), 'x')
  record(rt, 'ck', {checkpointed: {imagePath: img, time: new Date().toISOString()}})
  assert.equal(await takeOverCheckpointed(rt, 'ck', 'restore'), true)
  assert.ok(!fs.existsSync(path.join(rt.root, 'ck')), 'the state directory is gone')
  assert.deepEqual(fs.readdirSync(img), ['inventory.img'])
})

test('a stopped container that no checkpoint stopped, or a live one, keeps its id', async (t) => {
  const rt = tmpRuntime(t)
  record(rt, 'exited', {})
  await assert.rejects(takeOverCheckpointed(rt, 'exited', 'restore'), /^InvalidInput: restore exited: container with given ID already exists$|restore exited: container with given ID already exists/)
  assert.ok(fs.existsSync(path.join(rt.root, 'exited', 'state.json')))

  // our own process stands in for a live init: a checkpoint mark does not make a running container takeable
  const self = readProcStat(process.pid)!
  record(rt, 'live', {pid: process.pid, pidStartTime: self.startTime, checkpointed: {imagePath: '/x', time: new Date().toISOString()}})
  await assert.rejects(takeOverCheckpointed(rt, 'live', 'restore'), /restore live: container with given ID already exists/)
  assert.ok(fs.existsSync(path.join(rt.root, 'live', 'state.json')))

  // a directory without state (a create or restore half-way): left for reserveId to refuse
  fs.mkdirSync(path.join(rt.root, 'half'))
  assert.equal(await takeOverCheckpointed(rt, 'half', 'restore'), false)
  assert.ok(fs.existsSync(path.join(rt.root, 'half')))
})
