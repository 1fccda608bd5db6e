// criu's PATH: ocirt's tar for CRIU (native/build/criu-bin/tar) first, alone in its directory, when it is built.
import {it} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {criuTarDir, withCriuTar} from '../../../src/core/criu/tar-shim'

it('puts the directory of the built shim first in the PATH given to criu, and nothing else changes', () => {
  const dir = criuTarDir()
  assert.ok(dir, 'npm run build makes native/build/criu-bin/tar')
  assert.equal(path.basename(dir!), 'criu-bin')
  assert.deepEqual(fs.readdirSync(dir!), ['tar'], 'nothing else in it: spawn looks criu and unshare up in this PATH too')
  const env = withCriuTar({PATH: '/usr/sbin:/usr/bin', HOME: '/root'})
  assert.deepEqual(env, {PATH: `${dir}:/usr/sbin:/usr/bin`, HOME: '/root'})
  assert.match(withCriuTar({}).PATH!, new RegExp(`^${dir}:.*/usr/bin`), 'a default PATH after it when there was none')
})
