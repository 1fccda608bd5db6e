// nativeFile finds native/build only in the package's own root, for each of its two layouts, and never further up
// (a binary planted above the package would be run as root).
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {nativeFile} from '../../../src/core/util/native-file'

test('native/build is looked for in the package root of each layout, and nowhere above it', (t) => {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-native-file-'))
  t.after(() => fs.rmSync(top, {recursive: true, force: true}))
  const pkg = path.join(top, 'app', 'node_modules', 'ocirt')
  const bundleDir = path.join(pkg, 'dist')
  const tscDir = path.join(pkg, 'dist', 'src', 'core', 'util')
  fs.mkdirSync(tscDir, {recursive: true})
  // planted three levels above the bundles' dir, where '../../../..' from dist/ would land
  const planted = path.join(top, 'native', 'build', 'ocirt-pipe-size')
  fs.mkdirSync(path.dirname(planted), {recursive: true})
  fs.writeFileSync(planted, '')
  assert.equal(nativeFile('ocirt-pipe-size', bundleDir), undefined, 'not built in the package: nothing, not the planted one')
  assert.equal(nativeFile('ocirt-pipe-size', tscDir), undefined)
  const own = path.join(pkg, 'native', 'build', 'ocirt-pipe-size')
  fs.mkdirSync(path.dirname(own), {recursive: true})
  fs.writeFileSync(own, '')
  assert.equal(nativeFile('ocirt-pipe-size', bundleDir), own)
  assert.equal(nativeFile('ocirt-pipe-size', tscDir), own)
  assert.equal(nativeFile('ocirt-pipe-size', path.join(pkg, 'lib')), undefined, 'an unknown layout finds nothing')
})
