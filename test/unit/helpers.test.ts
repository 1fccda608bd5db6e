// The test helpers and fixtures themselves, without the runtime: the probe runs on the host, the rootfs has
// its shape, ocirt() is driven through a fake binary, Cleanup undoes what it was given and never throws.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {makeBundle, testSpec} from '../helpers/bundle'
import {Cleanup, cleanupFor} from '../helpers/cleanup'
import {ocirt, ocirtSync} from '../helpers/ocirt'
import {PROBE_BIN, PROBE_ROOTFS, REPO} from '../helpers/paths'
import {missing, requires} from '../helpers/requires'

const probe = (...args: string[]) => spawnSync(PROBE_BIN, args, {encoding: 'utf8'})

test('paths: REPO is the repository root', () => {
  assert.ok(fs.existsSync(path.join(REPO, 'package.json')))
  assert.ok(fs.existsSync(path.join(REPO, 'test', 'fixtures', 'probe.c')))
})

test('probe: built, static, and answers on the host', () => {
  assert.ok(fs.existsSync(PROBE_BIN), 'make -C test/fixtures')
  assert.doesNotMatch(execFileSync('readelf', ['-l', PROBE_BIN], {encoding: 'utf8'}), /INTERP/, 'must be static')
  assert.equal(probe('echo', 'hi').stdout, 'hi\n')
  assert.equal(probe('true').status, 0)
  assert.equal(probe('false').status, 1)
  assert.equal(probe('exit', '7').status, 7)
  assert.match(probe('id').stdout, /^uid=\d+ gid=\d+ groups=[\d,]*\n$/)
  assert.match(probe('caps').stdout, /^bnd=[0-9a-f]{16} eff=[0-9a-f]{16} prm=[0-9a-f]{16} inh=[0-9a-f]{16} amb=[0-9a-f]{16}\n$/)
  assert.match(probe('pid').stdout, /^pid=\d+ ppid=\d+\n$/)
  assert.match(probe('rlimit', 'NOFILE').stdout, /^(\d+|unlimited) (\d+|unlimited)\n$/)
  assert.equal(probe('stat', '/dev/null').stdout, 'type=chr mode=0666 uid=0 gid=0 rdev=1:3\n')
  const missingFile = probe('stat', '/nonexistent-ocirt')
  assert.deepEqual([missingFile.status, missingFile.stdout], [1, 'ENOENT\n'])
  assert.equal(spawnSync(PROBE_BIN, ['cat'], {input: 'abc', encoding: 'utf8'}).stdout, 'abc')
  assert.equal(probe('no-such-subcommand').status, 2)
})

test('probe: counter counts and keeps its memory pattern', async () => {
  const child = spawn(PROBE_BIN, ['counter', '-', '4'], {stdio: ['ignore', 'pipe', 'inherit']})
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d))
  await new Promise((r) => setTimeout(r, 350))
  child.kill('SIGTERM')
  const code = await new Promise((r) => child.on('exit', (c) => r(c)))
  assert.equal(code, 128 + 15)
  assert.match(out, /^count=0\ncount=1\ncount=2\n/)
  assert.doesNotMatch(out, /pattern=broken/)
})

test('rootfs: busybox applets, /bin/probe, users, /var/run -> /run', () => {
  assert.ok(fs.statSync(path.join(PROBE_ROOTFS, 'bin', 'probe')).mode & 0o111)
  assert.equal(fs.readlinkSync(path.join(PROBE_ROOTFS, 'bin', 'sh')), 'busybox')
  assert.equal(fs.readlinkSync(path.join(PROBE_ROOTFS, 'var', 'run')), '/run')
  const passwd = fs.readFileSync(path.join(PROBE_ROOTFS, 'etc', 'passwd'), 'utf8')
  assert.match(passwd, /^root:x:0:0:/m)
  assert.match(passwd, /^nobody:x:65534:65534:/m)
  assert.match(passwd, /^user:x:1000:1000:/m)
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'run', 'root', 'home']) {
    assert.ok(fs.statSync(path.join(PROBE_ROOTFS, d)).isDirectory(), d)
  }
})

test('requires: root as root, probe present', (t) => {
  assert.equal(missing('probe'), false)
  assert.equal(requires(t, 'root'), process.getuid?.() === 0)
})

test('ocirt(): global flags first, input, exit code, json, and no wait for inherited stdout', async (t) => {
  const c = cleanupFor(t)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-test-fake-'))
  c.dir(dir)
  // A fake ocirt that, like `ocirt run -d`, leaves a process behind holding its stdout and stderr.
  const fake = path.join(dir, 'fake-ocirt')
  fs.writeFileSync(fake, `#!/bin/sh
printf '{"argv":"%s","stdin":"%s"}\\n' "$*" "$(cat)"
echo oops >&2
sleep 30 &
echo $! >> "${dir}/pids"
exit 3
`, {mode: 0o755})
  const readPids = () => fs.readFileSync(path.join(dir, 'pids'), 'utf8').split('\n').filter(Boolean).map(Number)

  const started = Date.now()
  const r = await ocirt(['state', 'abc'], {bin: fake, root: '/x', input: 'in', globals: ['--debug']})
  readPids().forEach((p) => c.pid(p))
  assert.ok(Date.now() - started < 5000, 'returned at exit, not when the pipes closed')
  assert.equal(r.code, 3)
  assert.deepEqual(r.json(), {argv: '--root /x --debug state abc', stdin: 'in'})
  assert.equal(r.stderr, 'oops\n')

  const s = ocirtSync(['list'], {bin: fake})
  readPids().forEach((p) => c.pid(p))
  assert.deepEqual([s.code, s.json()], [3, {argv: 'list', stdin: ''}])

  fs.writeFileSync(fake, '#!/bin/sh\nexec sleep 5\n', {mode: 0o755})
  await assert.rejects(ocirt(['x'], {bin: fake, timeoutMs: 200}), /no exit after 200 ms/)
  assert.throws(() => ocirtSync(['x'], {bin: fake, timeoutMs: 200}), /no exit after 200 ms/)
})

test('makeBundle: read-only shared rootfs by default, overrides, writable copy on request', async () => {
  const c = new Cleanup()
  const a = makeBundle(c, (spec) => {
    spec.process!.args = ['/bin/probe', 'id']
  })
  const written = JSON.parse(fs.readFileSync(path.join(a.dir, 'config.json'), 'utf8'))
  assert.deepEqual(written.root, {path: PROBE_ROOTFS, readonly: true})
  assert.deepEqual(written.process.args, ['/bin/probe', 'id'])
  assert.equal(written.process.terminal, false)
  assert.equal(a.rootfsDir, PROBE_ROOTFS)
  assert.ok(!fs.existsSync(a.root), 'the state root is left for ocirt to create')

  const b = makeBundle(c, {hostname: 'x', process: {args: ['/bin/probe', 'hostname']}}, {copyRootfs: true})
  assert.notEqual(a.id, b.id)
  assert.equal(b.spec.hostname, 'x')
  assert.deepEqual(b.spec.process!.env, testSpec().process!.env, 'a patch merges, it does not replace')
  assert.deepEqual(b.spec.root, {path: 'rootfs', readonly: false})
  assert.ok(fs.existsSync(path.join(b.dir, 'rootfs', 'bin', 'probe')))

  await c.run()
  assert.ok(!fs.existsSync(a.dir) && !fs.existsSync(b.dir))
  assert.ok(fs.existsSync(path.join(PROBE_ROOTFS, 'bin', 'probe')), 'the shared rootfs is never removed')
})

test('Cleanup: kills registered pids, removes dirs, in kind order, never throws', async () => {
  const c = new Cleanup()
  const order: string[] = []
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-test-cleanup-'))
  const child = spawn('sleep', ['30'], {stdio: 'ignore'})
  c.dir(dir)
  c.add('custom', () => {
    order.push(child.exitCode !== null || child.signalCode !== null ? 'custom after kill' : 'custom before kill')
  })
  c.pid(child)
  c.add('throws', () => {
    throw new Error('expected failure, reported on stderr')
  })
  c.netns('ocirt-test-no-such-netns')
  c.mount('/nonexistent-ocirt-mount')
  c.cgroup('ocirt-test-no-such-cgroup')
  c.container('no-such-container', path.join(dir, 'no-such-root'))
  await c.run()
  assert.deepEqual(order, ['custom after kill'])
  assert.equal(child.signalCode, 'SIGKILL')
  assert.ok(!fs.existsSync(dir))
  await c.run() // each step runs once
  assert.throws(() => c.dir('/tmp'), /refusing/)
  assert.throws(() => c.dir(REPO), /refusing/)
  assert.throws(() => c.cgroup('../x'), /refusing/)
  assert.throws(() => c.cgroup('/sys/fs/cgroup/memory'), /refusing/)
})

test('Cleanup: unmounts below a dir before removing it; removes cgroups in every hierarchy', async (t) => {
  if (!requires(t, 'root', 'cgroup-v1')) return
  const c = new Cleanup()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-test-cleanup-'))
  fs.mkdirSync(path.join(dir, 'm'))
  execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', path.join(dir, 'm')])
  fs.writeFileSync(path.join(dir, 'm', 'f'), 'x')
  c.dir(dir)

  const rel = `ocirt-test-${process.pid}-cg`
  const made = ['pids', 'memory'].map((ctl) => path.join('/sys/fs/cgroup', ctl, rel, 'child'))
  made.forEach((d) => fs.mkdirSync(d, {recursive: true}))
  c.cgroup(`/${rel}`)
  const full = path.join('/sys/fs/cgroup/pids', `${rel}-full`)
  fs.mkdirSync(path.join(full, 'a', 'b'), {recursive: true})
  made.push(path.join(full, 'a'))
  c.cgroup(full)

  await c.run()
  assert.ok(!fs.existsSync(dir))
  assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(dir))
  for (const d of made) assert.ok(!fs.existsSync(path.dirname(d)), d)
})
