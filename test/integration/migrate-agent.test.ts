// `ocirt migrate-agent`, the target's half of a migration, spoken to as `ocirt migrate` does over SSH but through
// local pipes: it reports the host, prepares (id free, bundle, cgroup, bind sources, room) and undoes everything it
// made on `abort` and when the conversation ends without `commit`.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {AgentClient} from '../../src/migrate/agent/client'
import {AGENT_LEASE_MS} from '../../src/migrate/agent/protocol'
import {cleanupFor, type Cleanup} from '../helpers/cleanup'
import {requires} from '../helpers/requires'
import {OCIRT_BIN} from '../helpers/paths'
import {waitFor} from '../helpers/containers'
import {testSpec} from '../helpers/bundle'
import {makeMigrationTls} from '../../src/migrate/tls'
import {connectPageLink} from '../../src/migrate/page-link'

interface Agent {
  client: AgentClient
  child: ChildProcess
  exited: Promise<number | null>
  root: string
  dir: string
}

function startAgent(c: Cleanup): Agent {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-agent-'))
  c.dir(dir)
  const root = path.join(dir, 'root')
  const child = spawn(OCIRT_BIN, ['--root', root, 'migrate-agent'], {stdio: ['pipe', 'pipe', 'pipe']})
  c.pid(child)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {client: new AgentClient(child.stdin!, child.stdout!, child.stderr!, 'local agent'), child, exited, root, dir}
}

const prepareReq = (a: Agent, over: Record<string, unknown> = {}) => ({
  id: 'moved', bundleDir: path.join(a.dir, 'bundles', 'b'), bundleBytes: 1, imageBytes: 1, requiredPaths: [], ...over,
})

function staged(a: Agent): string[] {
  try {
    return fs.readdirSync(path.join(a.root, '.migrate'))
  } catch {
    return []
  }
}

test('hello reports the host: ocirt, criu and its features, cpu flags', async (t) => {
  if (!requires(t, 'root', 'ocirt', 'criu')) return
  const a = startAgent(cleanupFor(t))
  const facts = await a.client.request('hello', {})
  assert.match(facts.ocirt, /^\d+\.\d+\.\d+/)
  assert.match(facts.criu.version ?? '', /^4\./)
  assert.equal(facts.criu.problem, undefined)
  assert.equal(facts.features.lazyPages, '', 'userfaultfd works on this machine')
  assert.ok(facts.cpuFlags.includes('sse2'))
  assert.equal(facts.root, a.root)
  a.client.close()
  assert.equal(await a.exited, 0)
})

test('prepare makes the bundle and staging dirs; abort removes what it made, and only that', async (t) => {
  if (!requires(t, 'root', 'ocirt')) return
  const a = startAgent(cleanupFor(t))
  const prep = await a.client.request('prepare', prepareReq(a))
  assert.ok(fs.statSync(prep.imageDir).isDirectory())
  assert.equal(fs.statSync(prep.imageDir).mode & 0o777, 0o700, 'images hold memory: 0700')
  assert.ok(fs.existsSync(path.join(a.dir, 'bundles', 'b')))
  // a config the restore would refuse is refused when it is written, before the source freezes anything
  await assert.rejects(a.client.request('write-config', {bundleDir: path.join(a.dir, 'bundles', 'b'), config: {ociVersion: '1.0.2'}}),
    /migrate-agent moved: check rootfs: root: must be specified/)
  await assert.rejects(a.client.request('remove-paths', {bundleDir: path.join(a.dir, 'bundles', 'b'), paths: ['../../x']}), /outside the bundle/)
  const {notUndone} = await a.client.request('abort', {reason: 'test'})
  assert.deepEqual(notUndone, [])
  assert.ok(!fs.existsSync(path.join(a.dir, 'bundles')), 'the bundle dirs it made are gone')
  assert.deepEqual(staged(a), [])

  // a bundle directory that was there before stays (only what the agent made goes)
  const mine = path.join(a.dir, 'existing')
  fs.mkdirSync(mine)
  await a.client.request('prepare', prepareReq(a, {bundleDir: mine}))
  await a.client.request('abort', {reason: 'test'})
  assert.ok(fs.existsSync(mine))
  a.client.close()
})

test('a conversation that ends without commit is undone by the agent itself', async (t) => {
  if (!requires(t, 'root', 'ocirt')) return
  const a = startAgent(cleanupFor(t))
  await a.client.request('prepare', prepareReq(a))
  assert.equal(staged(a).length, 1)
  a.child.stdin!.end() // as when the SSH connection drops
  assert.equal(await a.exited, 0)
  assert.ok(!fs.existsSync(path.join(a.dir, 'bundles')))
  assert.deepEqual(staged(a), [])
})

test('commit keeps the bundle and drops the staging directory', async (t) => {
  if (!requires(t, 'root', 'ocirt')) return
  const a = startAgent(cleanupFor(t))
  await a.client.request('prepare', prepareReq(a))
  await a.client.request('commit', {})
  a.client.close()
  assert.equal(await a.exited, 0)
  assert.ok(fs.existsSync(path.join(a.dir, 'bundles', 'b')))
  assert.deepEqual(staged(a), [])
})

test('prepare refuses, naming the reason, and makes nothing: taken id, bundle with a config, missing bind source, a /proc path this kernel lacks, busy cgroup, no room', async (t) => {
  if (!requires(t, 'root', 'ocirt')) return
  const c = cleanupFor(t)
  const a = startAgent(c)
  fs.mkdirSync(path.join(a.root, 'taken'), {recursive: true})
  await assert.rejects(a.client.request('prepare', prepareReq(a, {id: 'taken'})), /container taken already exists on the target/)
  await assert.rejects(a.client.request('prepare', prepareReq(a, {id: '../x'})), /invalid|id/i)
  const withConfig = path.join(a.dir, 'full')
  fs.mkdirSync(withConfig)
  fs.writeFileSync(path.join(withConfig, 'config.json'), '{}')
  await assert.rejects(a.client.request('prepare', prepareReq(a, {bundleDir: withConfig})), /already holds a config\.json/)
  await assert.rejects(a.client.request('prepare', prepareReq(a, {requiredPaths: ['/nonexistent/ocirt-volume']})), /\/nonexistent\/ocirt-volume .* does not exist on the target/)
  // a kernel without /proc/sysrq-trigger (this one, and other VM kernels) cannot take a container that has a mount there
  await assert.rejects(a.client.request('prepare', prepareReq(a, {kernelPaths: ['/proc/cpuinfo', '/proc/ocirt-no-such-kernel-file']})),
    /the target's kernel lacks \/proc\/ocirt-no-such-kernel-file, where the container has mounts/)
  await assert.rejects(a.client.request('prepare', prepareReq(a, {bundleBytes: 2 ** 60})), /not enough room for the bundle on the target/)

  const cg = `ocirt-test-agent-${process.pid}`
  const dir = `/sys/fs/cgroup/pids/${cg}`
  c.cgroup(`/${cg}`)
  fs.mkdirSync(dir)
  const sleeper = spawn('sleep', ['60'], {stdio: 'ignore'})
  c.pid(sleeper)
  fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(sleeper.pid))
  await assert.rejects(a.client.request('prepare', prepareReq(a, {cgroupsPath: `/${cg}`})), new RegExp(`cgroup /${cg} is in use on the target`))

  assert.ok(!fs.existsSync(path.join(a.dir, 'bundles')), 'no bundle dir made')
  assert.deepEqual(staged(a), [], 'no staging dir made')
  a.client.close()
})

test('an agent that hears nothing from its source for the lease undoes everything by itself (a partition sshd does not notice)', async (t) => {
  if (!requires(t, 'root', 'ocirt')) return
  const c = cleanupFor(t)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-agent-'))
  c.dir(dir)
  const root = path.join(dir, 'root')
  // spoken to by hand, without AgentClient's pings: one request, then silence with the pipe still open
  const child = spawn(OCIRT_BIN, ['--root', root, 'migrate-agent'], {stdio: ['pipe', 'pipe', 'pipe']})
  c.pid(child)
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const bundleDir = path.join(dir, 'bundles', 'b')
  child.stdin!.write(`${JSON.stringify({id: 1, op: 'prepare', params: {id: 'moved', bundleDir, bundleBytes: 1, imageBytes: 1, requiredPaths: []}})}\n`)
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()))
  assert.ok(fs.existsSync(bundleDir))
  const started = Date.now()
  assert.equal(await exited, 0)
  t.diagnostic(`the agent gave up after ${Date.now() - started} ms of silence`)
  assert.match(stderr, new RegExp(`nothing from the source for ${AGENT_LEASE_MS / 1000} s: undoing`))
  assert.ok(!fs.existsSync(path.join(dir, 'bundles')), 'what it made is gone')
  assert.deepEqual(fs.existsSync(path.join(root, '.migrate')) ? fs.readdirSync(path.join(root, '.migrate')) : [], [])
})

test("stop-copy's page server: the agent listens for the page link and runs criu page-server on its end; a second start is refused; abort ends both", async (t) => {
  if (!requires(t, 'root', 'ocirt', 'criu')) return
  const c = cleanupFor(t)
  const a = startAgent(c)
  const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-agent-keys-'))
  c.dir(keysDir)
  // the target serves: both certificates name the address it listens on (as page-push.ts makes them)
  const keys = await makeMigrationTls(keysDir, '127.0.0.1')
  const serverPem = keys.server
  await assert.rejects(a.client.request('start-page-server', {address: '127.0.0.1', pem: serverPem}), /before prepare/)
  await a.client.request('prepare', prepareReq(a))
  const ps = await a.client.request('start-page-server', {address: '127.0.0.1', pem: serverPem})
  const link = await connectPageLink('127.0.0.1', ps.port, keys.client, 5000)
  c.add('close the link', () => void link.destroy())
  await assert.rejects(a.client.request('start-page-server', {address: '127.0.0.1', pem: serverPem}), /already runs/)
  assert.equal(pageServers(a.child.pid!).length, 1, 'the page server waits for the dump on its socket')
  const {notUndone} = await a.client.request('abort', {reason: 'test'})
  assert.deepEqual(notUndone, [])
  await waitFor('the page server to end', () => pageServers(a.child.pid!).length === 0)
  await waitFor('the link to close', () => link.destroyed || link.readableEnded)
  assert.deepEqual(staged(a), [], 'the keys went with the staging directory')
  a.client.close()
  assert.equal(await a.exited, 0)
})

test("post-copy's lazy-pages daemon is started before the freeze and held at its gate; asked again, the same one; abort ends it", async (t) => {
  if (!requires(t, 'root', 'ocirt', 'criu')) return
  const c = cleanupFor(t)
  const a = startAgent(c)
  const pageServer = {address: '127.0.0.1', port: 9}
  await assert.rejects(a.client.request('prepare-lazy-pages', {id: 'moved', pageServer}), /before prepare/)
  const prep = await a.client.request('prepare', prepareReq(a))
  assert.deepEqual(await a.client.request('prepare-lazy-pages', {id: 'moved', pageServer}), {held: true})
  await new Promise((resolve) => setTimeout(resolve, 300))
  const daemons = childrenWith(a.child.pid!, 'lazy-pages')
  assert.equal(daemons.length, 1, 'one criu lazy-pages, started')
  assert.equal(fs.existsSync(path.join(prep.workDir, 'lazy-pages.log')), false, "held before criu's main(): no log yet")
  assert.deepEqual(await a.client.request('prepare-lazy-pages', {id: 'moved', pageServer}), {held: true})
  assert.deepEqual(childrenWith(a.child.pid!, 'lazy-pages'), daemons, 'asked again: the same daemon')
  const {notUndone} = await a.client.request('abort', {reason: 'test'})
  assert.deepEqual(notUndone, [])
  await waitFor('the held daemon to end', () => childrenWith(a.child.pid!, 'lazy-pages').length === 0)
  assert.equal(fs.existsSync(path.join(prep.workDir, 'lazy-pages.log')), false, 'it never ran')
  a.client.close()
  assert.equal(await a.exited, 0)
})

test('criu restore is started before the freeze and held at its gate (prepare-restore); asked again, the same one; abort ends it', async (t) => {
  if (!requires(t, 'root', 'ocirt', 'criu')) return
  const c = cleanupFor(t)
  const a = startAgent(c)
  const layout = {stdio: [0, 1], netns: false, tmpfsKeys: ['ocirt-tmpfs/1777/']}
  const req = {id: 'moved', bundleDir: path.join(a.dir, 'bundles', 'b'), stdio: ['', 'out.log', 'out.log'] as [string, string, string], layout}
  await assert.rejects(a.client.request('prepare-restore', req), /before write-config/)
  const prep = await a.client.request('prepare', prepareReq(a))
  fs.mkdirSync(path.join(req.bundleDir, 'rootfs'))
  const spec = testSpec()
  spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'network')
  await a.client.request('write-config', {bundleDir: req.bundleDir, config: spec})
  assert.deepEqual(await a.client.request('prepare-restore', req), {held: true})
  await waitFor('criu restore held', () => childrenWith(a.child.pid!, '--config').length === 1)
  const [held] = childrenWith(a.child.pid!, '--config')
  assert.match(fs.readFileSync(`/proc/${held}/cmdline`, 'utf8').replace(/\0/g, ' '), /restore -v4 --config \S+criu-restore\.conf/)
  // its fds 3, 4: /dev/null for stdin, the bundle's out.log for stdout; its mount namespace has the rootfs bound
  assert.equal(fs.readlinkSync(`/proc/${held}/fd/3`), '/dev/null')
  assert.equal(fs.readlinkSync(`/proc/${held}/fd/4`), path.join(fs.realpathSync(req.bundleDir), 'out.log'))
  assert.notEqual(fs.readlinkSync(`/proc/${held}/ns/mnt`), fs.readlinkSync('/proc/self/ns/mnt'))
  assert.match(fs.readFileSync(`/proc/${held}/mountinfo`, 'utf8'), /held-restore\/criu-root /)
  assert.equal(fs.existsSync(path.join(prep.staging, 'held-restore', 'criu-restore.conf')), false, 'not let go: no options written')
  assert.deepEqual(await a.client.request('prepare-restore', req), {held: true})
  assert.deepEqual(childrenWith(a.child.pid!, '--config'), [held], 'asked again: the same one')
  const {notUndone} = await a.client.request('abort', {reason: 'test'})
  assert.deepEqual(notUndone, [])
  await waitFor('the held criu to end', () => childrenWith(a.child.pid!, '--config').length === 0)
  assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes('held-restore'), 'no mount of it on the host')
  a.client.close()
  assert.equal(await a.exited, 0)
})

/** pids of the agent's children whose argv has `word` */
function childrenWith(agentPid: number, word: string): number[] {
  const found: number[] = []
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
      if (argv.includes(word) && ppid === agentPid) found.push(Number(pid))
    } catch {
      // gone meanwhile
    }
  }
  return found
}

/** pids of the criu page servers the agent started (its children: a page server over a socket has no port) */
function pageServers(agentPid: number): number[] {
  const found: number[] = []
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
      if (argv.includes('page-server') && argv.includes('--ps-socket') && ppid === agentPid) found.push(Number(pid))
    } catch {
      // gone meanwhile
    }
  }
  return found
}
