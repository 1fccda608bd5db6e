// checkpoint and restore on real containers with CRIU: a `probe counter /out/file 16` container (its counter
// written to a bind-mounted host dir, 16 MiB of memory pattern checked before every line) is dumped and
// restored and goes on counting from where it stopped with its memory intact; with --leave-running; under a
// new id, bundle, rootfs, data dir, cgroup and --root (the migration case); in the foreground; a second time;
// and the failures leave the container (or, for restore, the system) as it was. What a checkpoint without
// --leave-running leaves behind (a stopped container) and a restore taking its id over: checkpoint-stopped.test.ts.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {spawn, spawnSync} from 'node:child_process'
import {assertOk} from '../helpers/ocirt'
import {requires} from '../helpers/requires'
import {alive, cgroupDirsLeft, expectFail, nsOf, sleep, stateOf, waitFor, waitStatus, type TestBundle} from '../helpers/containers'
import {OCIRT_BIN, PROBE} from '../helpers/paths'
import {assertContinues, assertHealthy, counterBundle, counts, images, last, runCounter} from '../helpers/counter'

const NEEDS = ['root', 'criu', 'probe', 'ocirt'] as const

test('checkpoint stops the container; restore under its id takes it over and continues counting with memory intact', async (t) => {
  if (!requires(t, ...NEEDS)) return
  const b = counterBundle(t, {readonly: true})
  const pid = await runCounter(b)
  const img = images(b)

  const started = Date.now()
  assertOk(await b.ocirt(['checkpoint', '--image-path', img, b.id]), 'checkpoint')
  t.diagnostic(`checkpoint took ${Date.now() - started} ms`)
  assert.ok(!alive(pid), 'the dumped init is gone')
  assert.deepEqual([(await stateOf(b)).status, (await stateOf(b)).pid], ['stopped', 0], 'stopped, as after an exit (runc destroys it)')
  const at = last(b.file)
  const offset = fs.statSync(b.file).size
  await sleep(300)
  assert.equal(last(b.file), at, 'nothing counts while checkpointed')
  assert.equal((fs.statSync(img).mode & 0o777).toString(8), '700', 'the image directory is private')
  assert.ok(fs.existsSync(path.join(img, 'ocirt-checkpoint.json')) && fs.existsSync(path.join(img, 'descriptors.json')))

  const pidFile = path.join(b.dir, 'restored.pid')
  const t0 = Date.now()
  assertOk(await b.ocirt(['restore', '-d', '--image-path', img, '--bundle', b.dir, '--pid-file', pidFile, b.id]), 'restore')
  t.diagnostic(`restore took ${Date.now() - t0} ms`)
  const st = await stateOf(b)
  assert.equal(st.status, 'running')
  assert.equal(fs.readFileSync(pidFile, 'utf8'), String(st.pid), 'pid file')
  await assertContinues(b.file, at, offset)

  const facts = JSON.parse(fs.readFileSync(path.join(b.root, b.id, 'state.json'), 'utf8'))
  assert.equal(facts.restored, true)
  for (const ns of ['pid', 'mnt', 'net', 'ipc', 'uts']) assert.notEqual(nsOf(st.pid, ns), nsOf('self', ns), `${ns} namespace is new`)
  assert.equal(facts.namespaces.pid, `/proc/${st.pid}/ns/pid`, 'namespaces recorded for the restored init')
  assert.equal(facts.namespaces.time, `/proc/${st.pid}/ns/time`, 'CRIU restores into a time namespace')
  const cg = fs.readFileSync(`/proc/${st.pid}/cgroup`, 'utf8')
  assert.match(cg, new RegExp(`:memory:${b.cgroupsPath}\n`), 'in the container cgroup again')
  const root = fs.readFileSync(`/proc/${st.pid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/')!
  assert.match(root.split(' ')[5], /^ro\b/, `"/" is still read-only: ${root}`)
  assert.equal(fs.readdirSync(path.join(b.root, b.id)).sort().join(' '), 'config.json state.json', 'no criu-root or pid file left')
})

test('--leave-running keeps the container running; its images restore the state at the checkpoint', async (t) => {
  if (!requires(t, ...NEEDS)) return
  const b = counterBundle(t)
  const pid = await runCounter(b)
  const img = images(b)
  const before = last(b.file)
  // podman gives the flag twice
  assertOk(await b.ocirt(['checkpoint', '--image-path', img, '--leave-running', '--leave-running', b.id]), 'checkpoint')
  const after = last(b.file)
  const st = await stateOf(b)
  assert.equal(st.status, 'running')
  assert.equal(st.pid, pid, 'the same init')
  await waitFor('counting on after the checkpoint', () => last(b.file) > after + 2)
  assertHealthy(b.file)

  assertOk(await b.ocirt(['delete', '--force', b.id]), 'delete')
  const offset = fs.statSync(b.file).size
  assertOk(await b.ocirt(['restore', '-d', '--image-path', img, '--bundle', b.dir, b.id]), 'restore')
  await waitFor('the restored counter', () => counts(b.file).length > 0 && fs.statSync(b.file).size > offset)
  const first = Number(/count=(\d+)/.exec(fs.readFileSync(b.file, 'utf8').slice(offset))![1])
  assert.ok(first > before && first <= after + 1, `resumes from the checkpoint (${before} < ${first} <= ${after + 1})`)
})

test('a paused container is checkpointed; with --leave-running it stays frozen, and its images restore thawed', async (t) => {
  if (!requires(t, ...NEEDS)) return
  const b = counterBundle(t)
  await runCounter(b)
  const img = images(b)
  assertOk(await b.ocirt(['pause', b.id]), 'pause')
  const frozen = last(b.file)
  assertOk(await b.ocirt(['checkpoint', '--image-path', img, '--leave-running', b.id]), 'checkpoint')
  assert.equal((await stateOf(b)).status, 'paused', 'still frozen after the dump')
  await sleep(400)
  assert.equal(last(b.file), frozen, 'a frozen container does not count')

  assertOk(await b.ocirt(['resume', b.id]), 'resume')
  await waitFor('counting on after resume', () => last(b.file) > frozen + 2)
  assertOk(await b.ocirt(['delete', '--force', b.id]), 'delete')
  const offset = fs.statSync(b.file).size
  assertOk(await b.ocirt(['restore', '-d', '--image-path', img, '--bundle', b.dir, b.id]), 'restore')
  assert.equal((await stateOf(b)).status, 'running', 'restored thawed')
  await assertContinues(b.file, frozen, offset)
})

test('restore under a new id, bundle, rootfs, data dir, cgroup and --root (migration)', async (t) => {
  if (!requires(t, ...NEEDS)) return
  const a = counterBundle(t)
  const b = counterBundle(a.cleanup, {idPrefix: 'mig'}) // another bundle dir, rootfs copy, cgroupsPath and --root
  // /sys/fs/cgroup shows each container its own cgroup: on v1 binds of host directories, which CRIU must remap
  const cgroupMount = {destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'ro']}
  for (const x of [a, b]) x.writeSpec((spec) => void spec.mounts!.push(cgroupMount))
  await runCounter(a)
  const img = images(a)
  const work = path.join(path.dirname(a.dir), 'work')
  assertOk(await a.ocirt(['checkpoint', '--image-path', img, '--work-path', work, a.id]), 'checkpoint')
  assert.ok(fs.existsSync(path.join(work, 'dump.log')), 'the log goes to the work path')
  const at = last(a.file)
  fs.copyFileSync(a.file, b.file) // the data volume travels with the container
  const offset = fs.statSync(b.file).size

  assertOk(await b.ocirt(['restore', '-d', '--image-path', img, '--work-path', work, '--bundle', b.dir, b.id]), 'restore')
  const st = await stateOf(b)
  assert.equal(st.status, 'running')
  assert.equal(st.bundle, b.dir)
  assert.equal(st.rootfs, b.rootfsDir)
  await assertContinues(b.file, at, offset)
  assert.equal(last(a.file), at, 'the old data dir is left alone')
  const cg = fs.readFileSync(`/proc/${st.pid}/cgroup`, 'utf8')
  assert.match(cg, new RegExp(`:memory:${b.cgroupsPath}\n`), 'in the new cgroup')
  const out = fs.readFileSync(`/proc/${st.pid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/out')!
  assert.equal(out.split(' ')[3], b.data, 'the bind mount comes from the new bundle')
  const mem = fs.readFileSync(`/proc/${st.pid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/sys/fs/cgroup/memory')
  assert.equal(mem?.split(' ')[3], b.cgroupsPath, 'its /sys/fs/cgroup/memory is the new cgroup')
  assert.equal((await stateOf(a)).status, 'stopped', 'the source is left stopped, for its engine to delete')
  assertOk(await a.ocirt(['delete', a.id]), 'delete the source')
  assert.deepEqual(cgroupDirsLeft(a.cgroupsPath), [], 'the old cgroup is gone')
  assert.equal((await stateOf(b)).status, 'running', 'the target is untouched by the delete of the source')
})

test('a network namespace the config joins by path is joined again on restore', async (t) => {
  if (!requires(t, ...NEEDS)) return
  const netns = `ocirt-cr-${process.pid}`
  const b = counterBundle(t)
  b.cleanup.netns(netns)
  const add = spawnSync('ip', ['netns', 'add', netns], {encoding: 'utf8'})
  assert.equal(add.status, 0, add.stderr)
  const nsPath = `/var/run/netns/${netns}`
  b.writeSpec((spec) => void (spec.linux!.namespaces = spec.linux!.namespaces!.map((n) => (n.type === 'network' ? {type: 'network', path: nsPath} : n))))
  const pid = await runCounter(b)
  const ns = fs.readlinkSync(`/proc/${pid}/ns/net`)
  assertOk(await b.ocirt(['checkpoint', '--image-path', images(b), b.id]), 'checkpoint')
  const at = last(b.file)
  const offset = fs.statSync(b.file).size
  assertOk(await b.ocirt(['restore', '-d', '--image-path', images(b), '--bundle', b.dir, b.id]), 'restore')
  const st = await stateOf(b)
  assert.equal(fs.readlinkSync(`/proc/${st.pid}/ns/net`), ns, 'the same network namespace')
  await assertContinues(b.file, at, offset)
})

test('--lazy-pages: the target restores before the memory has arrived and fetches it from the source', async (t) => {
  if (!requires(t, ...NEEDS)) return
  // CRIU's lazy-pages daemon needs 4 MiB pipes, and root here lacks CAP_SYS_RESOURCE (scripts/install-criu.sh)
  if (Number(fs.readFileSync('/proc/sys/fs/pipe-max-size', 'utf8')) < 4 << 20) return void t.skip('fs.pipe-max-size < 4 MiB')
  const a = counterBundle(t)
  const b = counterBundle(a.cleanup, {idPrefix: 'lazy'}) // the "target": its own bundle, cgroup and --root
  await runCounter(a)
  const img = images(a)
  fs.mkdirSync(img)
  const port = 20000 + (process.pid % 20000)
  const logFd = fs.openSync(path.join(a.dir, 'checkpoint.log'), 'w')
  // the dump stays up, serving pages on the port, until the target has them all; fd 3 says when it is ready
  const dump = spawn(OCIRT_BIN, ['--root', a.root, 'checkpoint', '--lazy-pages', '--page-server', `127.0.0.1:${port}`,
    '--status-fd', '3', '--image-path', img, a.id], {stdio: ['ignore', logFd, logFd, 'pipe']})
  fs.closeSync(logFd)
  a.cleanup.pid(dump)
  const dumped = new Promise<number | null>((resolve) => dump.once('exit', (code) => resolve(code)))
  await new Promise<void>((resolve, reject) => {
    dump.stdio[3]!.once('data', () => resolve())
    dump.once('exit', () => reject(new Error(`checkpoint ended first: ${fs.readFileSync(path.join(a.dir, 'checkpoint.log'), 'utf8')}`)))
  })
  const at = last(a.file)
  fs.copyFileSync(a.file, b.file)
  const offset = fs.statSync(b.file).size

  const lazyPid = path.join(path.dirname(a.dir), 'lazy.pid')
  const daemon = spawnSync('criu', ['lazy-pages', '--page-server', '--address', '127.0.0.1', '--port', String(port), '-D', img, '-W', img,
    '-o', 'lazy-pages.log', '-d', '--pidfile', lazyPid], {encoding: 'utf8', timeout: 30_000})
  assert.equal(daemon.status, 0, daemon.stderr)
  a.cleanup.pid(Number(fs.readFileSync(lazyPid, 'utf8')))
  const t0 = Date.now()
  assertOk(await b.ocirt(['restore', '-d', '--lazy-pages', '--image-path', img, '--bundle', b.dir, b.id]), 'restore')
  t.diagnostic(`lazy restore returned after ${Date.now() - t0} ms`)
  await assertContinues(b.file, at, offset)
  assert.equal(await dumped, 0, 'the checkpoint ends once every page is served')
  assert.equal((await stateOf(a)).status, 'stopped', 'the source is stopped once its pages are served')
  assert.equal((await stateOf(b)).status, 'running', 'the target runs on')
})

test('a restored container is an ordinary one: hostname, rlimits and devices kept; exec, pause, resume, a second checkpoint and restore, kill, delete', async (t) => {
  if (!requires(t, ...NEEDS)) return
  const b = counterBundle(t)
  b.writeSpec((s) => {
    s.hostname = 'restored-host'
    s.process!.rlimits = [{type: 'RLIMIT_NOFILE', hard: 777, soft: 555}]
    s.linux!.devices = [...(s.linux!.devices ?? []), {path: '/dev/ocirt-zero', type: 'c', major: 1, minor: 5, fileMode: 0o640, uid: 0, gid: 0}]
  })
  await runCounter(b)
  assertOk(await b.ocirt(['checkpoint', '--image-path', images(b, 'one'), b.id]), 'first checkpoint')
  assertOk(await b.ocirt(['restore', '-d', '--image-path', images(b, 'one'), '--bundle', b.dir, b.id]), 'first restore')
  await waitFor('the restored counter', () => last(b.file) > 5)
  const limits = fs.readFileSync(`/proc/${(await stateOf(b)).pid}/limits`, 'utf8')
  assert.match(limits, /^Max open files\s+555\s+777\s+files/m, 'the restored init keeps its rlimits')
  const seen = assertOk(await b.ocirt(['exec', b.id, '/bin/sh', '-c', 'hostname; stat -c "%F %t:%T %a" /dev/ocirt-zero']), 'exec').stdout
  assert.equal(seen, 'restored-host\ncharacter special file 1:5 640\n', 'exec sees the hostname and the device as they were')

  assertOk(await b.ocirt(['pause', b.id]), 'pause')
  assert.equal((await stateOf(b)).status, 'paused')
  const frozen = last(b.file)
  await sleep(300)
  assert.equal(last(b.file), frozen, 'a paused container does not count')
  assertOk(await b.ocirt(['resume', b.id]), 'resume')
  await waitFor('counting again', () => last(b.file) > frozen)

  assertOk(await b.ocirt(['checkpoint', '--image-path', images(b, 'two'), b.id]), 'second checkpoint')
  const at = last(b.file)
  const offset = fs.statSync(b.file).size
  assertOk(await b.ocirt(['restore', '-d', '--image-path', images(b, 'two'), '--bundle', b.dir, b.id]), 'second restore')
  await assertContinues(b.file, at, offset)

  const {pid} = await stateOf(b)
  assertOk(await b.ocirt(['kill', b.id, 'TERM']), 'kill')
  await waitStatus(b, 'stopped')
  assert.ok(!alive(pid))
  assertOk(await b.ocirt(['delete', b.id]), 'delete')
  assert.ok(!fs.existsSync(path.join(b.root, b.id)))
  assert.deepEqual(cgroupDirsLeft(b.cgroupsPath), [])
})

test('restore in the foreground waits for the container, relays its exit status and deletes it', async (t) => {
  if (!requires(t, ...NEEDS)) return
  const b = counterBundle(t)
  await runCounter(b)
  const img = images(b)
  assertOk(await b.ocirt(['checkpoint', '--image-path', img, b.id]), 'checkpoint')
  const at = last(b.file)
  // stdout and stderr are files: CRIU reopens an inherited fd through /proc/self/fd, which a socket refuses
  const errFile = path.join(b.dir, 'restore.err')
  const err = fs.openSync(errFile, 'w')
  const child = spawn(OCIRT_BIN, ['--root', b.root, 'restore', '--image-path', img, '--bundle', b.dir, b.id], {stdio: ['ignore', err, err]})
  fs.closeSync(err)
  b.cleanup.pid(child)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const stderr = () => fs.readFileSync(errFile, 'utf8')
  await waitFor('the restored counter', () => last(b.file) > at + 2 || stderr())
  assert.equal(stderr(), '')
  const {pid} = await stateOf(b)
  assert.equal(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1], String(child.pid), 'the restored init is a child of ocirt')
  assertOk(await b.ocirt(['kill', b.id, 'TERM']), 'kill')
  assert.equal(await exited, 128 + 15, `ocirt restore returns the container's status (stderr: ${stderr()})`)
  assert.ok(!fs.existsSync(path.join(b.root, b.id)), 'and deletes the container')
  assert.deepEqual(cgroupDirsLeft(b.cgroupsPath), [])
})

test('checkpoint of a created or stopped container fails and changes nothing', async (t) => {
  if (!requires(t, ...NEEDS)) return
  const b = counterBundle(t)
  assertOk(await b.ocirt(['create', '--bundle', b.dir, b.id]), 'create')
  const created = await stateOf(b)
  expectFail(await b.ocirt(['checkpoint', '--image-path', images(b), b.id]), 'Container cannot be checkpointed in created state')
  assert.deepEqual(await stateOf(b), created)
  assert.ok(!fs.existsSync(images(b)), 'no image directory made')

  const s = counterBundle(t)
  s.writeSpec((spec) => void (spec.process!.args = [PROBE, 'true']))
  assertOk(await s.ocirt(['run', '-d', '--bundle', s.dir, s.id]), 'run')
  await waitStatus(s, 'stopped')
  expectFail(await s.ocirt(['checkpoint', '--image-path', images(s), s.id]), 'Container cannot be checkpointed in stopped state')
  assert.equal((await stateOf(s)).status, 'stopped')
})

test('a failed checkpoint (bad image path, missing criu, pre-dump without dirty tracking) leaves the container running', async (t) => {
  if (!requires(t, ...NEEDS)) return
  const b = counterBundle(t)
  const pid = await runCounter(b)
  const before = await stateOf(b)
  const stillCounting = async () => {
    const n = last(b.file)
    await waitFor('the counter to go on', () => last(b.file) > n + 1)
    assert.deepEqual(await stateOf(b), before)
    assert.ok(alive(pid))
  }

  const notADir = path.join(b.file, 'images') // below a regular file
  expectFail(await b.ocirt(['checkpoint', '--image-path', notADir, b.id]), /create image directory .*ENOTDIR/)
  await stillCounting()

  const r = await b.ocirt(['checkpoint', '--image-path', images(b), b.id], {globals: ['--criu', '/nonexistent']})
  expectFail(r, 'criu binary /nonexistent: not found; install CRIU 4.x with scripts/install-criu.sh')
  await stillCounting()

  const dirty = await b.ocirt(['checkpoint', '--pre-dump', '--image-path', images(b), b.id])
  if (dirty.code !== 0) {
    // this machine's kernel has no soft-dirty tracking (MACHINE.md); where it has, pre-dump simply works
    expectFail(dirty, /--pre-dump needs memory dirty tracking, which this kernel lacks/)
  }
  await stillCounting()
  assertHealthy(b.file)
})

test('a failed restore leaves no state directory, cgroup, mount or process behind', async (t) => {
  if (!requires(t, ...NEEDS)) return
  const a = counterBundle(t)
  await runCounter(a)
  const img = images(a)
  assertOk(await a.ocirt(['checkpoint', '--image-path', img, a.id]), 'checkpoint')
  const b = counterBundle(a.cleanup, {idPrefix: 'bad'})
  const nothingLeft = () => {
    assert.ok(!fs.existsSync(path.join(b.root, b.id)), 'no state directory')
    assert.deepEqual(cgroupDirsLeft(b.cgroupsPath), [], 'no cgroup')
    assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(path.join(b.root, b.id)), 'no criu-root mount')
  }

  expectFail(await b.ocirt(['restore', '-d', '--image-path', path.join(b.dir, 'nothing'), '--bundle', b.dir, b.id]), /image path .* does not exist/)
  nothingLeft()
  expectFail(await b.ocirt(['restore', '-d', '--image-path', img, '--bundle', b.dir, b.id], {globals: ['--criu', '/nonexistent']}), 'criu binary /nonexistent: not found')
  nothingLeft()

  // b's data dir lacks the counter's open file: CRIU fails half-way, after the cgroup and the root mount exist
  const r = await b.ocirt(['restore', '-d', '--image-path', img, '--bundle', b.dir, b.id])
  expectFail(r, /criu restore exited with status 1/)
  assert.match(r.stderr, /\(criu log: .*restore\.log\)/, 'the error names the log')
  assert.match(r.stderr, /Error/, 'and quotes its errors')
  nothingLeft()
  await sleep(200)
  assert.ok(!fs.existsSync(b.file), 'no restored process writes anywhere')

  // without the bind mount the checkpoint has, the config is refused before anything is made
  b.writeSpec((spec) => void (spec.mounts = spec.mounts!.filter((m) => m.destination !== '/out')))
  expectFail(await b.ocirt(['restore', '-d', '--image-path', img, '--bundle', b.dir, b.id]), "bind mounts that the bundle's config.json lacks: /out")
  nothingLeft()

  // an id in use: refused, the running container untouched
  b.writeSpec((spec) => void spec.mounts!.push({destination: '/out', type: 'bind', source: 'data', options: ['rbind', 'rw']}))
  fs.copyFileSync(a.file, b.file)
  assertOk(await b.ocirt(['restore', '-d', '--image-path', img, '--bundle', b.dir, b.id]), 'restore')
  const running = await stateOf(b)
  expectFail(await b.ocirt(['restore', '-d', '--image-path', img, '--bundle', b.dir, b.id]), 'container with given ID already exists')
  assert.deepEqual(await stateOf(b), running)
})

test("the caller's stdio: /dev/null read on 0 and written on 1-2 comes back in each mode; a socket is refused", async (t) => {
  if (!requires(t, ...NEEDS)) return
  const b = counterBundle(t)
  const img = images(b)
  // as a shell's `</dev/null >/dev/null 2>&1` gives them: one file, read-only on 0 and write-only on 1 and 2
  const rd = fs.openSync('/dev/null', 'r')
  const wr = fs.openSync('/dev/null', 'w')
  t.after(() => {
    fs.closeSync(rd)
    fs.closeSync(wr)
  })
  assert.deepEqual(await detached(b, ['run', '-d', '--bundle', b.dir, b.id], [rd, wr, wr]), {code: 0, err: ''})
  await waitFor('the counter', () => last(b.file) >= 2)
  assertOk(await b.ocirt(['checkpoint', '--image-path', img, b.id]), 'checkpoint')
  const info = JSON.parse(fs.readFileSync(path.join(img, 'ocirt-checkpoint.json'), 'utf8'))
  assert.deepEqual(info.descriptors.slice(0, 3).map((d: {external: boolean; link: string}) => [d.link, d.external]),
    [['/dev/null', true], ['/dev/null', true], ['/dev/null', true]], 'stdio from outside the container is external')

  // CRIU reopens that /dev/null per mode through /proc/self/fd, which a socket (Node's 'pipe') refuses
  const sock = await detached(b, ['restore', '-d', '--image-path', img, '--bundle', b.dir, b.id], ['pipe', 'pipe', 'pipe'])
  assert.equal(sock.code, 1)
  assert.match(sock.err, /ocirt's fd 0 is a socket, which criu cannot reopen as the restored container's fd 0 \(\/dev\/null at checkpoint\)/)
  assert.equal((await stateOf(b)).status, 'stopped', 'refused before anything changed: the container its checkpoint stopped stays')

  assert.deepEqual(await detached(b, ['restore', '-d', '--image-path', img, '--bundle', b.dir, b.id], [rd, wr, wr]), {code: 0, err: ''})
  const {pid} = await stateOf(b)
  const access = (fd: number) => parseInt(/^flags:\s*([0-7]+)/m.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))![1], 8) & 3
  for (const fd of [0, 1, 2]) assert.equal(fs.readlinkSync(`/proc/${pid}/fd/${fd}`), '/dev/null')
  assert.deepEqual([access(0), access(1), access(2)], [0, 1, 1], 'read-only 0, write-only 1 and 2, as at checkpoint')
  await waitFor('counting on', () => last(b.file) > 4)
  assertHealthy(b.file)
})

test("a container writing to a pipe goes on writing into the restore caller's pipe", async (t) => {
  if (!requires(t, ...NEEDS)) return
  const b = counterBundle(t)
  b.writeSpec((spec) => void (spec.process!.args = [PROBE, 'counter', '-', '16']))
  const img = images(b)
  // `ocirt ... | cat > OUT`: the container's stdout is a real pipe whose reader outlives ocirt
  const pipeline = (out: string, args: string[]) => {
    const sh = spawn('/bin/sh', ['-c', 'exec "$@" </dev/null 2>/dev/null | cat > "$OUT"', 'sh', OCIRT_BIN, '--root', b.root, ...args],
      {stdio: 'ignore', env: {...process.env, OUT: out}})
    b.cleanup.pid(sh) // cat ends when the container (deleted first by the cleanup) closes the pipe
  }
  const out1 = path.join(b.dir, 'out1')
  const out2 = path.join(b.dir, 'out2')
  pipeline(out1, ['run', '-d', '--bundle', b.dir, b.id])
  await waitFor('counting into the first pipe', () => last(out1) >= 3)
  assert.match(fs.readlinkSync(`/proc/${(await stateOf(b)).pid}/fd/1`), /^pipe:\[/)
  assertOk(await b.ocirt(['checkpoint', '--image-path', img, b.id]), 'checkpoint')
  const at = last(out1)
  pipeline(out2, ['restore', '-d', '--image-path', img, '--bundle', b.dir, b.id])
  await assertContinues(out2, at, 0)
  assert.equal(last(out1), at, 'nothing more in the old pipe')
})

async function detached(b: TestBundle, args: string[], stdio: ('ignore' | 'pipe' | number)[]): Promise<{code: unknown; err: string}> {
  const child = spawn(OCIRT_BIN, ['--root', b.root, ...args], {stdio})
  b.cleanup.pid(child)
  let err = ''
  child.stderr?.on('data', (d: Buffer) => (err += d))
  const code = await new Promise((resolve) => child.once('close', resolve))
  return {code, err}
}
