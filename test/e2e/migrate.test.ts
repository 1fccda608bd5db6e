// `ocirt migrate` between two hosts made on this machine (test/helpers/remote-host.ts: a veth pair, a network
// namespace, an sshd on each side): a container counting with a 16 MiB memory pattern moves there and back and goes
// on counting from where it was frozen with its memory intact, in each mode this kernel supports; every failure
// injected on the way ends with the container running on the source, unchanged, and nothing left on the target.
import {after, before, test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import {spawn} from 'node:child_process'
import * as path from 'node:path'
import {Cleanup} from '../helpers/cleanup'
import {requires} from '../helpers/requires'
import {makeHostPair, type HostPair} from '../helpers/remote-host'
import {K8S_FIXTURES, startFakeK8s} from '../helpers/fake-k8s'
import {OCIRT_BIN, PROBE} from '../helpers/paths'
import {consoleReceiver, ttyCounts} from '../helpers/console-receiver'
import {cgroupDirsLeft, sleep, stateOf, waitFor} from '../helpers/containers'
import {ocirt, assertOk} from '../helpers/ocirt'
import {counterBundle, counts, faultyOcirt, killStrays, last, migrateCmd, sides, stagingLeft, type Counter, type Side} from '../helpers/migration'

const NEEDS = ['root', 'criu', 'probe', 'ocirt', 'sshd'] as const
const world = new Cleanup()
let pair: HostPair | undefined
let A: Side
let B: Side

before(async () => {
  if (process.getuid?.() !== 0 || !fs.existsSync('/usr/sbin/sshd')) return
  pair = await makeHostPair(world)
  ;({a: A, b: B} = sides(pair, world))
  const dir = pair.dir
  world.add('stray criu and agent processes', () => {
    const left = killStrays(dir)
    if (left.length) process.stderr.write(`migrate e2e: killed stray processes ${left.join(' ')}\n`)
  })
})
after(() => world.run())

function skipUnlessReady(t: Parameters<typeof requires>[0]): boolean {
  if (!requires(t, ...NEEDS)) return false
  if (!pair) return void t.skip('no host pair'), false
  return true
}

/** A counter container running on side A (its --root is A's). */
async function startOnA(c: Cleanup, mib = 16): Promise<Counter> {
  const b = counterBundle(c, mib)
  b.root = A.root
  c.container(b.id, A.root)
  assertOk(await ocirt(['--root', A.root, 'run', '-d', '--bundle', b.dir, b.id]), 'run -d')
  await waitFor('the counter to reach 3', () => last(b.file) >= 3)
  return b
}

async function stateOn(side: Side, id: string): Promise<{code: number; status?: string; pid?: number; stderr: string}> {
  const r = await ocirt(['--root', side.root, 'state', id])
  return {code: r.code, status: r.code === 0 ? r.json().status : undefined, pid: r.code === 0 ? r.json().pid : undefined, stderr: r.stderr}
}

/** After `offset` bytes, file goes on from `from` + 1 in steps of 1, pattern intact. */
async function assertContinues(file: string, from: number, offset: number): Promise<void> {
  await waitFor(`counting past ${from + 3} in ${file}`, () => last(file) > from + 3)
  const text = fs.readFileSync(file, 'utf8')
  assert.ok(!text.includes('pattern=broken'), 'the memory pattern held')
  const resumed = [...text.slice(offset).matchAll(/^count=(\d+)/gm)].map((m) => Number(m[1]))
  assert.equal(resumed[0], from + 1, `first count after the move (then: ${resumed.slice(0, 5).join(' ')})`)
  for (let i = 1; i < resumed.length; i++) assert.equal(resumed[i], resumed[i - 1] + 1, 'consecutive counts')
}

/** The source still runs as before: same pid, counting on from where it was, nothing on the target. */
async function assertRolledBack(b: Counter, pid: number, target: Side, remoteBundle: string, targetCgroup: string): Promise<void> {
  const st = await stateOf(b)
  assert.equal(st.status, 'running', 'the container runs on the source')
  assert.equal(st.pid, pid, 'the same init: resumed, not restarted')
  const at = last(b.file)
  await waitFor('the source counting on', () => last(b.file) > at + 3)
  const all = counts(b.file)
  for (let i = 1; i < all.length; i++) assert.equal(all[i], all[i - 1] + 1, 'no count lost or repeated on the source')
  // the target's agent undoes its part (also by itself when the connection is gone): give it a moment
  const clean = async () => (await stateOn(target, b.id)).code !== 0 && stagingLeft(target.root).length === 0 && !fs.existsSync(remoteBundle)
  await waitFor('the target cleaned up', clean, 20_000).catch(() => undefined)
  assert.match((await stateOn(target, b.id)).stderr, /container does not exist/)
  assert.deepEqual(stagingLeft(target.root), [], 'no staging dir left on the target')
  assert.ok(!fs.existsSync(remoteBundle), `the target bundle ${remoteBundle} is gone`)
  assert.deepEqual(cgroupDirsLeft(targetCgroup), [], 'no cgroup left on the target')
}

function freshTarget(side: Side, name: string): {remoteBundle: string; cgroupsPath: string} {
  return {remoteBundle: path.join(side.bundles, name), cgroupsPath: `/ocirt-test-${name}`}
}

test('post-copy there and back: the counter goes on, the memory is intact, the source copy is gone', async (t) => {
  if (!skipUnlessReady(t)) return
  const c = new Cleanup()
  t.after(() => c.run())
  const b = await startOnA(c)
  const there = freshTarget(B, `${b.id}-there`)
  c.container(b.id, B.root).cgroup(there.cgroupsPath)

  const r = await migrateCmd({from: A, to: B, id: b.id, ...there})
  assert.equal(r.code, 0, `migrate: ${r.stderr}`)
  const s = r.summary!
  assert.equal(s.outcome, 'migrated')
  assert.equal(s.mode, 'post-copy', 'auto picks post-copy where userfaultfd works (this machine)')
  assert.match(JSON.stringify(s.notes), /straight from the source's criu to the target's over CRIU's TLS/, 'auto sends pages over TLS when the target can reach the source')
  assert.match(JSON.stringify(s.notes), /"the page server's connection used cubic congestion control/, `the page server's connection gets cubic (page-congestion.ts): ${JSON.stringify(s.notes)}`)
  assert.match(JSON.stringify(s.phases), /lazy-pages daemon \d+ ms, held since before the freeze/, 'the target started its lazy-pages daemon before the freeze and held it at its gate')
  assert.match(JSON.stringify(s.phases), /criu restore held since before the freeze/, 'the target started criu restore before the freeze and let it go (core/criu/held.ts)')
  assert.deepEqual(stagingLeft(A.root), [], "the migration's TLS keys went with the staging directory")
  assert.equal(typeof s.downtimeMs, 'number')
  t.diagnostic(`there: downtime ${s.downtimeMs} ms, post-copy ${s.postCopyMs} ms, total ${s.totalMs} ms; ${JSON.stringify(s.phases)}`)
  assert.match((await stateOn(A, b.id)).stderr, /container does not exist/, 'the source copy is gone')
  const stateB = await stateOn(B, b.id)
  assert.equal(stateB.status, 'running')
  // the held criu joined the container's cgroups before it was let go: the restored tree was born in them
  const cgroups = fs.readFileSync(`/proc/${stateB.pid}/cgroup`, 'utf8')
  for (const h of ['memory', 'freezer', 'pids']) assert.match(cgroups, new RegExp(`^\\d+:${h}:${there.cgroupsPath}$`, 'm'), `${h} cgroup of the restored init: ${cgroups}`)
  const frozenAt = last(b.file) // the source's file stopped at the freeze; the target got a copy of it
  const targetFile = path.join(there.remoteBundle, 'data', 'file')
  await assertContinues(targetFile, frozenAt, fs.statSync(b.file).size)
  // its own network namespace on the target, made there with the loopback up, as on the source (create's)
  const onB = (await stateOn(B, b.id)).pid!
  assert.notEqual(fs.readlinkSync(`/proc/${onB}/ns/net`), fs.readlinkSync('/proc/self/ns/net'))
  assert.equal(Number(fs.readFileSync(`/proc/${onB}/root/sys/class/net/lo/flags`, 'utf8')) & 1, 1, 'lo is up on the target')
  assert.deepEqual(stagingLeft(A.root), [])
  assert.deepEqual(stagingLeft(B.root), [])

  // and back, started from B's network namespace, into a new bundle on A
  const back = freshTarget(A, `${b.id}-back`)
  c.container(b.id, A.root).cgroup(back.cgroupsPath)
  const r2 = await migrateCmd({from: B, to: A, id: b.id, ...back})
  assert.equal(r2.code, 0, `migrate back: ${r2.stderr}`)
  const atFreeze = last(targetFile) // B's file stopped at the freeze
  const offset = fs.statSync(targetFile).size
  assert.equal((await stateOn(A, b.id)).status, 'running')
  assert.match((await stateOn(B, b.id)).stderr, /container does not exist/)
  await assertContinues(path.join(back.remoteBundle, 'data', 'file'), atFreeze, offset)
  assert.deepEqual(cgroupDirsLeft(there.cgroupsPath), [], 'the cgroup on B went with the container')
})

test('stop-copy under a new id, pages through SSH: the same continuity, and the progress and summary say what happened', async (t) => {
  if (!skipUnlessReady(t)) return
  const c = new Cleanup()
  t.after(() => c.run())
  const b = await startOnA(c)
  const there = freshTarget(B, `${b.id}-sc`)
  const newId = `${b.id}-moved`
  c.container(newId, B.root).cgroup(there.cgroupsPath)
  // --page-transport ssh: the dump written here and streamed after it (the page server's path has its own test)
  const r = await migrateCmd({from: A, to: B, id: b.id, ...there, extra: ['--mode', 'stop-copy', '--new-id', newId, '--page-transport', 'ssh']})
  assert.equal(r.code, 0, `migrate: ${r.stderr}`)
  assert.equal(r.summary!.mode, 'stop-copy')
  assert.equal(r.summary!.targetId, newId)
  assert.ok((r.summary!.bytes as {images: number}).images > 16 << 20, 'the whole memory went with the images')
  assert.equal((await stateOn(B, newId)).status, 'running')
  await assertContinues(path.join(there.remoteBundle, 'data', 'file'), last(b.file), fs.statSync(b.file).size)
})

test("stop-copy with the page server (auto): the memory goes from the dump straight to the target's criu over TLS", async (t) => {
  if (!skipUnlessReady(t)) return
  const c = new Cleanup()
  t.after(() => c.run())
  const b = await startOnA(c)
  const there = freshTarget(B, `${b.id}-scps`)
  c.container(b.id, B.root).cgroup(there.cgroupsPath)
  const r = await migrateCmd({from: A, to: B, id: b.id, ...there, extra: ['--mode', 'stop-copy']})
  assert.equal(r.code, 0, `migrate: ${r.stderr}`)
  const s = r.summary!
  assert.equal(s.mode, 'stop-copy')
  assert.match(JSON.stringify(s.notes), /straight to the target's criu page server at [0-9.]+ over the page link \(TLS/, JSON.stringify(s.notes))
  const bytes = s.bytes as {images: number; pages: number}
  assert.ok(bytes.pages > 16 << 20, `the 16 MiB pattern went to the page server (${bytes.pages} bytes)`)
  assert.ok(bytes.images < 1 << 20, `only the small images went after the dump (${bytes.images} bytes)`)
  t.diagnostic(`downtime ${s.downtimeMs} ms; ${JSON.stringify(s.phases)}`)
  assert.match((await stateOn(A, b.id)).stderr, /container does not exist/, 'the source copy is gone')
  assert.equal((await stateOn(B, b.id)).status, 'running')
  await assertContinues(path.join(there.remoteBundle, 'data', 'file'), last(b.file), fs.statSync(b.file).size)
  assert.deepEqual(stagingLeft(A.root), [], "the migration's keys went with the staging directory")
  assert.deepEqual(stagingLeft(B.root), [])
})

test('post-copy with --page-transport ssh: the pages come through a tunnel in the SSH connection', async (t) => {
  if (!skipUnlessReady(t)) return
  const c = new Cleanup()
  t.after(() => c.run())
  const b = await startOnA(c)
  const there = freshTarget(B, `${b.id}-tun`)
  c.container(b.id, B.root).cgroup(there.cgroupsPath)
  const r = await migrateCmd({from: A, to: B, id: b.id, ...there, extra: ['--page-transport', 'ssh']})
  assert.equal(r.code, 0, `migrate: ${r.stderr}`)
  assert.equal(r.summary!.mode, 'post-copy')
  assert.ok((r.summary!.bytes as {pages: number}).pages > 16 << 20, 'the 16 MiB pattern went through the tunnel')
  await assertContinues(path.join(there.remoteBundle, 'data', 'file'), last(b.file), fs.statSync(b.file).size)
  assert.deepEqual(stagingLeft(A.root), [])
  assert.deepEqual(stagingLeft(B.root), [])
})

test('a container with a terminal moves: its new pty master goes to --console-socket on the target, the counting goes on there', async (t) => {
  if (!skipUnlessReady(t)) return
  const c = new Cleanup()
  t.after(() => c.run())
  const b = counterBundle(c, 16, [PROBE, 'counter', '-', '16'])
  const spec = JSON.parse(fs.readFileSync(path.join(b.dir, 'config.json'), 'utf8'))
  spec.process.terminal = true
  fs.writeFileSync(path.join(b.dir, 'config.json'), JSON.stringify(spec))
  b.root = A.root
  c.container(b.id, A.root)
  const first = await consoleReceiver(c, path.join(path.dirname(b.dir), `${b.id}-a.sock`))
  assertOk(await ocirt(['--root', A.root, 'run', '-d', '--console-socket', first.path, '--bundle', b.dir, b.id]), 'run -d')
  await waitFor('counting on the first console', () => ttyCounts(first.text()).length >= 3)
  const there = freshTarget(B, `${b.id}-tty`)
  c.container(b.id, B.root).cgroup(there.cgroupsPath)

  const refused = await migrateCmd({from: A, to: B, id: b.id, ...there})
  assert.notEqual(refused.code, 0)
  assert.match(refused.stderr, /the container has a terminal: give --console-socket/)
  const second = await consoleReceiver(c, path.join(path.dirname(b.dir), `${b.id}-b.sock`))
  const r = await migrateCmd({from: A, to: B, id: b.id, ...there, extra: ['--console-socket', second.path]})
  assert.equal(r.code, 0, `migrate: ${r.stderr}`)
  assert.equal(await first.exited, 0, 'the source pty closed once the source copy was deleted')
  const frozenAt = ttyCounts(first.text()).at(-1)!
  await waitFor('counting on the target\'s console', () => ttyCounts(second.text()).length >= 3)
  assert.match(second.text(), /name=\/dev\/pts\/\d+ fds=1/, 'runc\'s console-socket message')
  const resumed = ttyCounts(second.text())
  assert.equal(resumed[0], frozenAt + 1, `the count goes on from the freeze (source ended at ${frozenAt}, target: ${resumed.slice(0, 4).join(' ')})`)
  assert.equal((await stateOn(B, b.id)).status, 'running')
})

test('--dry-run connects, checks both hosts and changes nothing', async (t) => {
  if (!skipUnlessReady(t)) return
  const c = new Cleanup()
  t.after(() => c.run())
  const b = await startOnA(c)
  const pid = (await stateOf(b)).pid
  const there = freshTarget(B, `${b.id}-dry`)
  const r = await migrateCmd({from: A, to: B, id: b.id, ...there, extra: ['--dry-run']})
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.summary!.outcome, 'dry-run')
  assert.equal(r.summary!.mode, 'post-copy')
  assert.equal((await stateOf(b)).status, 'running')
  assert.equal((await stateOf(b)).pid, pid)
  assert.ok(!fs.existsSync(there.remoteBundle))
  assert.deepEqual(stagingLeft(B.root), [])
})

test('an unknown host key stops the migration before anything is frozen; --accept-new-host-key records it', async (t) => {
  if (!skipUnlessReady(t)) return
  const c = new Cleanup()
  t.after(() => c.run())
  const b = await startOnA(c)
  const empty = path.join(pair!.dir, `known-${b.id}`)
  fs.writeFileSync(empty, '')
  const there = freshTarget(B, `${b.id}-hk`)
  const r = await migrateCmd({from: A, to: B, id: b.id, ...there, knownHosts: empty, extra: ['--dry-run']})
  assert.equal(r.code, 1)
  assert.match(r.stderr, /accept-new-host-key/)
  assert.match(r.stderr, /SHA256:/)
  assert.equal((await stateOf(b)).status, 'running')
  assert.equal(fs.readFileSync(empty, 'utf8'), '', 'nothing recorded without the flag')
  const ok = await migrateCmd({from: A, to: B, id: b.id, ...there, knownHosts: empty, extra: ['--dry-run', '--accept-new-host-key']})
  assert.equal(ok.code, 0, ok.stderr)
  assert.match(fs.readFileSync(empty, 'utf8'), new RegExp(`\\[${B.endpoint.host}\\]:${B.endpoint.port} `))
})

test('rollback: no ocirt on the target (the agent cannot start)', async (t) => {
  if (!skipUnlessReady(t)) return
  const c = new Cleanup()
  t.after(() => c.run())
  const b = await startOnA(c)
  const pid = (await stateOf(b)).pid
  const there = freshTarget(B, `${b.id}-none`)
  const r = await migrateCmd({from: A, to: B, id: b.id, ...there, remoteOcirt: '/nonexistent/ocirt'})
  assert.equal(r.code, 1)
  assert.match(r.stderr, /migration agent .* went away|not found|No such file/)
  await assertRolledBack(b, pid, B, there.remoteBundle, there.cgroupsPath)
})

test('rollback: the restore fails on the target after CRIU made the container', async (t) => {
  if (!skipUnlessReady(t)) return
  const c = new Cleanup()
  t.after(() => c.run())
  const b = await startOnA(c)
  const pid = (await stateOf(b)).pid
  const there = freshTarget(B, `${b.id}-rf`)
  c.container(b.id, B.root).cgroup(there.cgroupsPath)
  const wrapper = faultyOcirt(pair!.dir, `restore-${b.id}`, 'export OCIRT_MIGRATE_FAULT=restore')
  const r = await migrateCmd({from: A, to: B, id: b.id, ...there, remoteOcirt: wrapper})
  assert.equal(r.code, 1)
  assert.match(r.stderr, /injected fault after restore .*rolled back, the container runs on the source/)
  assert.equal(r.summary!.outcome, 'rolled-back')
  await assertRolledBack(b, pid, B, there.remoteBundle, there.cgroupsPath)
})

test('rollback: the connection is lost while the images stream, during the freeze (stop-copy)', async (t) => {
  if (!skipUnlessReady(t)) return
  const c = new Cleanup()
  t.after(() => c.run())
  const b = await startOnA(c)
  const pid = (await stateOf(b)).pid
  const there = freshTarget(B, `${b.id}-cut`)
  c.container(b.id, B.root).cgroup(there.cgroupsPath)
  // the images' unpacker waits for the first byte (sent during the freeze), then kills its sshd: the connection drops
  // (a post-copy dump's few small images go in one agent request instead: see the next test)
  const wrapper = faultyOcirt(pair!.dir, `cut-${b.id}`, 'case "$*" in *"/images --session "*) head -c 1 >/dev/null; kill -9 $PPID; sleep 5; exit 1;; esac')
  const r = await migrateCmd({from: A, to: B, id: b.id, ...there, remoteOcirt: wrapper, extra: ['--mode', 'stop-copy', '--page-transport', 'ssh']})
  assert.equal(r.code, 1)
  assert.match(r.stderr, /rolled back, the container runs on the source/)
  await assertRolledBack(b, pid, B, there.remoteBundle, there.cgroupsPath)
})

test("rollback: the connection is lost while the bundle's changes stream, during the dump (post-copy)", async (t) => {
  if (!skipUnlessReady(t)) return
  const c = new Cleanup()
  t.after(() => c.run())
  const b = await startOnA(c)
  const pid = (await stateOf(b)).pid
  const there = freshTarget(B, `${b.id}-cutd`)
  c.container(b.id, B.root).cgroup(there.cgroupsPath)
  // the bundle's second unpacker (the first takes the sync before the freeze) waits for the first byte of the changes,
  // sent while CRIU dumps, then kills its sshd
  const count = path.join(pair!.dir, `cutd-${b.id}.count`)
  const wrapper = faultyOcirt(pair!.dir, `cutd-${b.id}`, `case "$*" in *" --unpack ${there.remoteBundle} --session "*)
  n=$(( $(cat ${count} 2>/dev/null || echo 0) + 1 )); echo $n > ${count}
  if [ $n = 2 ]; then head -c 1 >/dev/null; kill -9 $PPID; sleep 5; exit 1; fi;; esac`)
  const r = await migrateCmd({from: A, to: B, id: b.id, ...there, remoteOcirt: wrapper})
  assert.equal(r.code, 1)
  assert.equal(fs.readFileSync(count, 'utf8').trim(), '2', 'the changes had their own unpacker')
  assert.match(r.stderr, /rolled back, the container runs on the source/)
  await assertRolledBack(b, pid, B, there.remoteBundle, there.cgroupsPath)
})

test('rollback: the target runs out of disk while the images arrive (stop-copy)', async (t) => {
  if (!skipUnlessReady(t)) return
  const c = new Cleanup()
  t.after(() => c.run())
  const b = await startOnA(c)
  const pid = (await stateOf(b)).pid
  const there = freshTarget(B, `${b.id}-full`)
  c.container(b.id, B.root).cgroup(there.cgroupsPath)
  // the images' unpacker takes 1 MiB, then fails as tar does on a full disk
  const wrapper = faultyOcirt(pair!.dir, `full-${b.id}`,
    'case "$*" in *"/images --session "*) head -c 1048576 >/dev/null; echo "write images/pages-1.img: ENOSPC: no space left on device" >&2; exit 1;; esac')
  const r = await migrateCmd({from: A, to: B, id: b.id, ...there, remoteOcirt: wrapper, extra: ['--mode', 'stop-copy', '--page-transport', 'ssh']})
  assert.equal(r.code, 1)
  assert.match(r.stderr, /no space left on device.*rolled back, the container runs on the source/s)
  await assertRolledBack(b, pid, B, there.remoteBundle, there.cgroupsPath)
})

test("rollback: the target's page server dies during the dump (stop-copy)", async (t) => {
  if (!skipUnlessReady(t)) return
  const c = new Cleanup()
  t.after(() => c.run())
  const b = await startOnA(c, 64) // a dump long enough to be cut in the middle
  const pid = (await stateOf(b)).pid
  const there = freshTarget(B, `${b.id}-psk`)
  c.container(b.id, B.root).cgroup(there.cgroupsPath)
  // the agent kills its page server as soon as the first pages arrive
  const wrapper = faultyOcirt(pair!.dir, `kill-ps-${b.id}`, 'export OCIRT_MIGRATE_FAULT=kill-page-server')
  const r = await migrateCmd({from: A, to: B, id: b.id, ...there, remoteOcirt: wrapper, extra: ['--mode', 'stop-copy', '--page-transport', 'tls']})
  assert.equal(r.code, 1, `migrate must not succeed: ${r.stdout}`)
  assert.equal(r.summary!.outcome, 'rolled-back', r.stderr)
  assert.match(r.stderr, /criu dump .*rolled back, the container runs on the source/s)
  t.diagnostic(String(r.summary!.error ?? ''))
  assert.deepEqual(stagingLeft(A.root), [])
  await assertRolledBack(b, pid, B, there.remoteBundle, there.cgroupsPath)
})

test('rollback: the target loses its lazy-pages daemon during post-copy', async (t) => {
  if (!skipUnlessReady(t)) return
  const c = new Cleanup()
  t.after(() => c.run())
  const b = await startOnA(c)
  const pid = (await stateOf(b)).pid
  const there = freshTarget(B, `${b.id}-lz`)
  c.container(b.id, B.root).cgroup(there.cgroupsPath)
  const wrapper = faultyOcirt(pair!.dir, `lazy-${b.id}`, 'export OCIRT_MIGRATE_FAULT=kill-lazy')
  const r = await migrateCmd({from: A, to: B, id: b.id, ...there, remoteOcirt: wrapper})
  assert.equal(r.code, 1, `migrate must not succeed: ${r.stdout}`)
  assert.equal(r.summary!.outcome, 'rolled-back', r.stderr)
  assert.match(JSON.stringify(r.summary!.notes), /started on the target/)
  await assertRolledBack(b, pid, B, there.remoteBundle, there.cgroupsPath)
})

test('the connection drops after the target committed but before it answered: the source stays frozen, nothing runs twice', async (t) => {
  if (!skipUnlessReady(t)) return
  const c = new Cleanup()
  t.after(() => c.run())
  const b = await startOnA(c)
  const pid = (await stateOf(b)).pid
  const there = freshTarget(B, `${b.id}-cl`)
  c.container(b.id, B.root).cgroup(there.cgroupsPath)
  const wrapper = faultyOcirt(pair!.dir, `commit-${b.id}`, 'export OCIRT_MIGRATE_FAULT=commit-lost')
  const r = await migrateCmd({from: A, to: B, id: b.id, ...there, remoteOcirt: wrapper})
  assert.equal(r.code, 1)
  assert.equal(r.summary!.outcome, 'unknown')
  assert.match(r.stderr, /stays frozen here; check `ocirt state .*` on .*, then `ocirt resume .*` or `ocirt delete --force .*` here/)
  const st = await stateOf(b)
  assert.equal(st.status, 'paused', 'the source is frozen, not resumed')
  assert.equal(st.pid, pid)
  const frozen = last(b.file)
  await sleep(300)
  assert.equal(last(b.file), frozen, 'and it does not count')
  assert.equal((await stateOn(B, b.id)).status, 'running', 'the target kept its committed copy')
  // what the error tells the operator to do: the target has it, so the source copy goes
  assertOk(await ocirt(['--root', A.root, 'delete', '--force', b.id]), 'delete the frozen source')
})

test('Ctrl-C (SIGINT) during the freeze rolls back: the source resumes, the target is cleaned', async (t) => {
  if (!skipUnlessReady(t)) return
  const c = new Cleanup()
  t.after(() => c.run())
  const b = await startOnA(c)
  const pid = (await stateOf(b)).pid
  const there = freshTarget(B, `${b.id}-int`)
  c.container(b.id, B.root).cgroup(there.cgroupsPath)
  const to = B.endpoint
  const child = spawn(OCIRT_BIN, ['--root', A.root, 'migrate', b.id, '--to', `root@${to.host}:${to.port}`, '-i', to.identityFile,
    '--known-hosts', to.knownHostsFile, '--remote-ocirt', OCIRT_BIN, '--remote-root', B.root, '--remote-bundle', there.remoteBundle,
    '--target-cgroups-path', there.cgroupsPath], {stdio: ['ignore', 'pipe', 'pipe']})
  c.pid(child)
  let stderr = ''
  let sent = false
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString()
    if (!sent && /migrate: freeze and dump \.\.\./.test(stderr)) sent = child.kill('SIGINT')
  })
  const code = await new Promise<number | null>((resolve) => child.once('exit', (n) => resolve(n)))
  assert.equal(code, 1, stderr)
  assert.match(stderr, /SIGINT: stopping and rolling back/)
  assert.match(stderr, /interrupted by SIGINT .*rolled back, the container runs on the source/)
  await assertRolledBack(b, pid, B, there.remoteBundle, there.cgroupsPath)
})

test('a container whose stdout is a socket is refused before anything starts', async (t) => {
  if (!skipUnlessReady(t)) return
  const c = new Cleanup()
  t.after(() => c.run())
  const b = counterBundle(c)
  b.root = A.root
  c.container(b.id, A.root)
  // Node's stdio 'pipe' is a socketpair: the container's stdout is a socket of ours
  const run = spawn(OCIRT_BIN, ['--root', A.root, 'run', '-d', '--bundle', b.dir, b.id], {stdio: ['ignore', 'pipe', 'pipe']})
  assert.equal(await new Promise((resolve) => run.once('exit', resolve)), 0)
  await waitFor('the counter to reach 3', () => last(b.file) >= 3)
  const there = freshTarget(B, `${b.id}-sock`)
  const r = await migrateCmd({from: A, to: B, id: b.id, ...there})
  assert.equal(r.code, 1)
  assert.match(r.stderr, /fd 1 is a socket from outside it .* cannot move to another host/)
  assert.equal((await stateOf(b)).status, 'running', 'never frozen')
  assert.ok(!fs.existsSync(there.remoteBundle), 'nothing on the target')
})

test('a failed preflight (no room for the images on the target) changes nothing', async (t) => {
  if (!skipUnlessReady(t)) return
  const c = new Cleanup()
  t.after(() => c.run())
  const b = await startOnA(c)
  const pid = (await stateOf(b)).pid
  // a target --root on a 4 MiB tmpfs: the 16 MiB of memory cannot land there
  const tiny = path.join(pair!.dir, `tiny-${b.id}`)
  fs.mkdirSync(tiny)
  c.dir(tiny)
  assertOk(await ocirt(['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', tiny], {bin: 'mount'}), 'mount tmpfs')
  c.mount(tiny)
  const small: Side = {...B, root: path.join(tiny, 'root')}
  const there = freshTarget(B, `${b.id}-room`)
  const r = await migrateCmd({from: A, to: small, id: b.id, ...there})
  assert.equal(r.code, 1)
  assert.match(r.stderr, /not enough room for the images on the target/)
  await sleep(200)
  await assertRolledBack(b, pid, small, there.remoteBundle, there.cgroupsPath)
})

test('rollback: what the freeze needs fails while the bundle streams (--page-transport tls, its probe fails): one clear error, nothing left', async (t) => {
  if (!skipUnlessReady(t)) return
  const c = new Cleanup()
  t.after(() => c.run())
  const b = await startOnA(c)
  const pid = (await stateOf(b)).pid
  const there = freshTarget(B, `${b.id}-tlsf`)
  c.container(b.id, B.root).cgroup(there.cgroupsPath)
  // the TLS keys and their probe are made while the bundle syncs (freeze-prep.ts): their failure must stop the sync
  const wrapper = faultyOcirt(pair!.dir, `probe-tls-${b.id}`, 'export OCIRT_MIGRATE_FAULT=probe-tls')
  const r = await migrateCmd({from: A, to: B, id: b.id, ...there, remoteOcirt: wrapper, extra: ['--page-transport', 'tls']})
  assert.equal(r.code, 1)
  assert.match(r.stderr, /--page-transport tls: injected fault in the TLS probe \(rolled back, the container runs on the source\)/)
  assert.equal(r.summary!.outcome, 'rolled-back')
  assert.equal(r.summary!.mode, 'post-copy')
  assert.deepEqual(stagingLeft(A.root), [], "the migration's keys went with the source's staging directory")
  await assertRolledBack(b, pid, B, there.remoteBundle, there.cgroupsPath)
})

test('--to k8s: the node is chosen from the cluster (label, readiness, priority) and its annotations say how to reach it', async (t) => {
  if (!skipUnlessReady(t)) return
  const c = new Cleanup()
  t.after(() => c.run())
  const b = await startOnA(c)
  // the recorded NodeList, with the highest-priority eligible node pointing at host B
  const nodes = JSON.parse(fs.readFileSync(path.join(K8S_FIXTURES, 'nodes.json'), 'utf8'))
  const node = nodes.items.find((n: {metadata: {name: string}}) => n.metadata.name === 'worker-annotated')
  const bundles = path.join(B.bundles, `k8s-${b.id}`)
  Object.assign(node.metadata.annotations, {
    'migrate.ocirt.dev/ssh-host': B.endpoint.host, 'migrate.ocirt.dev/ssh-port': String(B.endpoint.port),
    'migrate.ocirt.dev/ssh-user': 'root', 'migrate.ocirt.dev/ocirt-path': OCIRT_BIN, 'migrate.ocirt.dev/root': B.root,
    'migrate.ocirt.dev/bundle-dir': bundles,
  })
  const fixture = path.join(pair!.dir, `nodes-${b.id}.json`)
  fs.writeFileSync(fixture, JSON.stringify(nodes))
  const k8s = await startFakeK8s(t, {fixture})
  const cgroupsPath = `/ocirt-test-${b.id}-k8s`
  c.container(b.id, B.root).cgroup(cgroupsPath)
  const r = await ocirt(['--root', A.root, 'migrate', b.id, '--to', 'k8s', '--kubeconfig', k8s.kubeconfig, '-i', B.endpoint.identityFile,
    '--known-hosts', B.endpoint.knownHostsFile, '--target-cgroups-path', cgroupsPath, '--json'], {timeoutMs: 120_000, env: {NODE_NAME: 'ocirt-self'}})
  assert.equal(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout)
  assert.equal(s.outcome, 'migrated')
  assert.match(s.target, /worker-annotated/)
  const notes = s.notes.join('\n')
  assert.match(notes, /worker-down: .*NotReady|worker-down: .*Ready/i, notes)
  assert.match(notes, /ocirt-self: .*this node/, notes)
  assert.ok(k8s.requests.some((q) => q.path === '/api/v1/nodes' && q.status === 200), 'the node list came from the API server')
  assert.equal((await stateOn(B, b.id)).status, 'running')
  await assertContinues(path.join(bundles, b.id, 'data', 'file'), last(b.file), fs.statSync(b.file).size)
})
