// defaultSpec/rootlessSpec against what the installed `runc spec` writes, and specToJson's formatting.
import {test} from 'node:test'
import * as assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {execFileSync} from 'node:child_process'
import {defaultSpec, rootlessSpec, specToJson} from '../../../src/core/spec/defaults'
import {specProblems} from '../../../src/core/spec/validate'

const RUNC = '/usr/sbin/runc'
const noRunc = fs.existsSync(RUNC) ? false : `${RUNC} is not installed`

function runcSpec(args: string[], ids?: {uid: number; gid: number}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-spec-'))
  try {
    if (ids) {
      fs.chmodSync(dir, 0o777)
      execFileSync('setpriv', ['--reuid', String(ids.uid), '--regid', String(ids.gid), '--clear-groups', RUNC, 'spec', ...args], {cwd: dir})
    } else {
      execFileSync(RUNC, ['spec', ...args], {cwd: dir})
    }
    return fs.readFileSync(path.join(dir, 'config.json'), 'utf8')
  } finally {
    fs.rmSync(dir, {recursive: true, force: true})
  }
}

test('defaultSpec prints byte for byte what runc spec writes', {skip: noRunc}, () => {
  assert.equal(specToJson(defaultSpec()), runcSpec([]))
})

test('rootlessSpec(0, 0) prints byte for byte what runc spec --rootless writes as root', {skip: noRunc}, () => {
  assert.equal(specToJson(rootlessSpec(0, 0)), runcSpec(['--rootless']))
})

const canSetpriv = process.geteuid?.() === 0 && fs.existsSync('/usr/bin/setpriv')
test('rootlessSpec maps the caller\'s own ids, as runc spec --rootless run by that user', {skip: noRunc || (!canSetpriv && 'needs root and setpriv')}, () => {
  assert.deepEqual(rootlessSpec(1000, 1001), JSON.parse(runcSpec(['--rootless'], {uid: 1000, gid: 1001})))
})

test('defaultSpec returns a fresh object each time', () => {
  const a = defaultSpec()
  a.process!.args!.push('x')
  a.mounts![0].options = ['ro']
  assert.deepEqual(defaultSpec().process!.args, ['sh'])
  assert.equal(defaultSpec().mounts![0].options, undefined)
  assert.equal(defaultSpec().ociVersion, '1.0.2-dev')
})

test('rootlessSpec: user namespace instead of network, /sys bound, no gid=5, no resources', () => {
  const s = rootlessSpec(1234, 5678)
  assert.deepEqual(s.linux!.namespaces!.map((n) => n.type), ['pid', 'ipc', 'uts', 'mount', 'user'])
  assert.deepEqual(s.linux!.uidMappings, [{containerID: 0, hostID: 1234, size: 1}])
  assert.deepEqual(s.linux!.gidMappings, [{containerID: 0, hostID: 5678, size: 1}])
  assert.equal(s.linux!.resources, undefined)
  assert.deepEqual(s.mounts!.find((m) => m.destination === '/sys'),
    {destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro']})
  assert.ok(!s.mounts!.find((m) => m.type === 'devpts')!.options!.includes('gid=5'))
  assert.deepEqual(defaultSpec().mounts!.find((m) => m.type === 'devpts')!.options!.slice(-1), ['gid=5'])
})

test('specToJson: tabs, no trailing newline, Go\'s HTML-safe escapes', () => {
  const s = {...defaultSpec(), annotations: {'a<b': 'x>y & z\u2028'}}
  const out = specToJson(s)
  assert.ok(out.startsWith('{\n\t"ociVersion": "1.0.2-dev",\n\t"process": {\n\t\t"terminal": true,'))
  assert.ok(out.endsWith('\n}'))
  assert.ok(out.includes('"a\\u003cb": "x\\u003ey \\u0026 z\\u2028"'))
  assert.deepEqual(JSON.parse(out), s)
})

test('both starter specs pass validation', () => {
  const host = {apparmor: false, selinux: false, intelRdt: false}
  assert.deepEqual(specProblems(defaultSpec(), {verb: 'create', id: 'c', requireProcess: true, host}), [])
  assert.deepEqual(specProblems(rootlessSpec(1000, 1000), {verb: 'create', id: 'c', requireProcess: true, rootless: true, host}), [])
})
