import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {resolveInRoot} from '../../../src/core/mounts/resolve'

function rootfs(t: {after: (fn: () => void) => void}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-resolve-'))
  t.after(() => fs.rmSync(dir, {recursive: true, force: true}))
  fs.mkdirSync(path.join(dir, 'run'))
  fs.mkdirSync(path.join(dir, 'var'))
  fs.symlinkSync('/run', path.join(dir, 'var/run'))
  fs.symlinkSync('../../../../etc', path.join(dir, 'evil'))
  fs.symlinkSync('../run', path.join(dir, 'var/rel'))
  return dir
}

test('absolute symlinks resolve from the rootfs, as the container sees them', (t) => {
  const r = rootfs(t)
  assert.deepEqual(resolveInRoot(r, '/var/run/x'), {hostPath: path.join(r, 'run/x')})
  assert.deepEqual(resolveInRoot(r, '/var/rel/y'), {hostPath: path.join(r, 'run/y')})
})

test('a symlink climbing above the rootfs is reported', (t) => {
  const r = rootfs(t)
  const res = resolveInRoot(r, '/evil/shadow')
  assert.deepEqual(res.escape, {link: '/evil', target: '../../../../etc'})
})

test('plain ".." in the destination is clamped at the root like the kernel does for /', (t) => {
  const r = rootfs(t)
  assert.deepEqual(resolveInRoot(r, '/../../tmp'), {hostPath: path.join(r, 'tmp')})
})
