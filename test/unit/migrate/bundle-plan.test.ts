import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {planBundle, sizeOf} from '../../../src/migrate/bundle-plan'
import type {Spec} from '../../../src/core/spec/types'

function tmp(t: {after(fn: () => void): void}): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-plan-'))
  t.after(() => fs.rmSync(d, {recursive: true, force: true}))
  return d
}

function spec(rootPath: string, mounts: Spec['mounts']): Spec {
  return {ociVersion: '1.0.2', root: {path: rootPath}, process: {cwd: '/', args: ['sh']}, mounts, linux: {cgroupsPath: '/a'}} as Spec
}

test('a rootfs inside the bundle goes with it; bind sources inside are made relative, outside ones are required', (t) => {
  const dir = tmp(t)
  const bundle = path.join(dir, 'b')
  fs.mkdirSync(path.join(bundle, 'rootfs'), {recursive: true})
  fs.mkdirSync(path.join(bundle, 'data'))
  const s = spec(path.join(bundle, 'rootfs'), [
    {destination: '/data', type: 'bind', source: path.join(bundle, 'data'), options: ['rbind']},
    {destination: '/rel', type: 'none', source: 'data', options: ['bind']},
    {destination: '/shared', type: 'bind', source: '/srv/shared', options: ['rbind']},
    {destination: '/proc', type: 'proc', source: 'proc'},
  ])
  const p = planBundle({bundle, rootfs: path.join(bundle, 'rootfs'), spec: s, pid: process.pid, remoteBundle: '/there/b', cgroupsPath: '/moved'})
  assert.deepEqual(p.items, [{what: 'bundle', local: bundle, remote: '/there/b'}])
  assert.equal(p.config.root!.path, 'rootfs')
  assert.deepEqual(p.config.mounts!.map((m) => m.source), ['data', 'data', '/srv/shared', 'proc'])
  assert.deepEqual(p.requiredPaths, ['/srv/shared'])
  assert.equal(p.config.linux!.cgroupsPath, '/moved')
  assert.equal(s.linux!.cgroupsPath, '/a', 'the original config is untouched')
})

test('a rootfs outside the bundle is copied into the target bundle under a free name', (t) => {
  const dir = tmp(t)
  const bundle = path.join(dir, 'b')
  fs.mkdirSync(path.join(bundle, 'rootfs'), {recursive: true}) // taken: the copy must not land on it
  const rootfs = path.join(dir, 'elsewhere')
  fs.mkdirSync(rootfs)
  fs.writeFileSync(path.join(rootfs, 'f'), 'x'.repeat(5000))
  const p = planBundle({bundle, rootfs, spec: spec(rootfs, []), pid: process.pid, remoteBundle: '/there/b'})
  assert.deepEqual(p.items[1], {what: 'rootfs', local: rootfs, remote: '/there/b/rootfs.1'})
  assert.equal(p.config.root!.path, 'rootfs.1')
  assert.equal(p.config.linux!.cgroupsPath, '/a', 'kept without an override')
  assert.ok(sizeOf(p.items) >= 5000)
})

test('stdio that goes to a file inside the bundle follows it; anything else becomes /dev/null', (t) => {
  const dir = tmp(t)
  const bundle = path.join(dir, 'b')
  fs.mkdirSync(bundle)
  const log = path.join(bundle, 'out.log')
  // a child whose stdout and stderr are the bundle's log and stdin /dev/null, like a detached container
  const {spawn} = require('node:child_process') as typeof import('node:child_process')
  const fd = fs.openSync(log, 'a')
  const child = spawn('sleep', ['5'], {stdio: ['ignore', fd, fd]})
  fs.closeSync(fd)
  t.after(() => child.kill('SIGKILL'))
  const p = planBundle({bundle, rootfs: path.join(bundle, 'rootfs'), spec: spec('rootfs', []), pid: child.pid!, remoteBundle: '/x'})
  assert.deepEqual(p.stdio, ['', 'out.log', 'out.log'])
})
