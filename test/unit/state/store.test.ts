import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {createRuntime} from '../../../src/core/runtime'
import {listIds, reserveId, validateId, writeFileAtomic} from '../../../src/core/state/store'
import {InvalidInput} from '../../../src/core/errors'

function tmpRuntime(t: {after: (fn: () => void) => void}) {
  const root = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-store-')), 'root')
  t.after(() => fs.rmSync(path.dirname(root), {recursive: true, force: true}))
  return createRuntime({root})
}

test('ids: empty, dot names, slashes, odd characters and over-long ids are refused', () => {
  for (const bad of ['', '.', '..', 'a/b', '../x', 'a b', 'a\nb', 'x'.repeat(256), 'ä']) {
    assert.throws(() => validateId(bad, 'create'), InvalidInput, JSON.stringify(bad))
  }
  for (const good of ['a', 'web-1', 'x_y.z', 'A+B', '0'.repeat(64)]) validateId(good, 'create')
})

test('reserveId makes the root 0700 and refuses a duplicate id with runc\'s words', (t) => {
  const rt = tmpRuntime(t)
  reserveId(rt, 'c1', 'create')
  assert.equal(fs.statSync(rt.root).mode & 0o777, 0o700)
  assert.throws(() => reserveId(rt, 'c1', 'create'), /create c1: container with given ID already exists/)
  assert.deepEqual(listIds(rt), ['c1'])
})

test('writeFileAtomic leaves no temp file behind and replaces whole files', (t) => {
  const rt = tmpRuntime(t)
  fs.mkdirSync(rt.root, {recursive: true})
  const f = path.join(rt.root, 'pid')
  writeFileAtomic(f, '123')
  writeFileAtomic(f, '45')
  assert.equal(fs.readFileSync(f, 'utf8'), '45')
  assert.deepEqual(fs.readdirSync(rt.root), ['pid'])
})
