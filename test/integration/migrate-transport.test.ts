// The ssh transport and tar streaming of `ocirt migrate` against real sshds: host `a` in the root network
// namespace and host `b` in a network namespace behind a veth pair (test/helpers/remote-host.ts). Host keys are
// checked before any authentication (sshd's log shows no publickey attempt after a refusal), credentials are
// refused with the methods named, commands keep their exit codes, output and awkward argv, tunnels carry data
// both ways, a connection that breaks is reported, and trees cross the wire with their metadata intact.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import {
  HostKeyChanged, HostKeyUnknown, RemoteCommandTimeout, SshAuthFailed, SshConnectionLost, connectSsh,
  type SshAuthOptions, type SshSession,
} from '../../src/migrate/ssh'
import {fingerprint} from '../../src/migrate/ssh/known-hosts'
import {extractTree, listTree, packTree, UnsafeTarEntry} from '../../src/migrate/stream'
import {cleanupFor, type Cleanup} from '../helpers/cleanup'
import {REPO} from '../helpers/paths'
import {missing} from '../helpers/requires'
import {descendants, makeHostPair, type HostPair, type SshEndpoint} from '../helpers/remote-host'

const SKIP = missing('root', 'sshd')
const STREAM = path.join(REPO, 'dist', 'src', 'migrate', 'stream')

const auth = (ep: SshEndpoint, more: SshAuthOptions = {}): SshAuthOptions =>
  ({identityFiles: [ep.identityFile], knownHostsFile: ep.knownHostsFile, agent: false, ...more})

const tmp = (c: Cleanup, tag: string): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `ocirt-transport-${tag}-`))
  c.dir(d)
  return d
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** lines of an sshd log that record a public key authentication attempt */
const authLines = (ep: SshEndpoint, pair: HostPair) =>
  fs.readFileSync(path.join(pair.dir, ep === pair.a ? 'a' : 'b', 'sshd.log'), 'utf8').split('\n').filter((l) => /publickey/i.test(l)).length

describe('ssh transport', {skip: SKIP}, () => {
  let pair: HostPair
  const c = cleanupFor(after) // the describe's own after hook (registered while the suite is defined)
  before(async () => {
    pair = await makeHostPair(c)
  })

  test('connects to both hosts with a key; exec keeps exit codes, stdout and stderr apart', async (t) => {
    for (const ep of [pair.a, pair.b]) {
      const s = await connectSsh(ep, auth(ep))
      t.after(() => s.close())
      const r = await s.run(['sh', '-c', 'echo out; echo err >&2; exit 7'])
      assert.equal(r.code, 7)
      assert.equal(r.stdout, 'out\n')
      // bash reads ~/.bashrc also for ssh commands, and on this machine it may complain first (pyenv)
      assert.match(r.stderr, /(^|\n)err\n$/)
      assert.doesNotMatch(r.stderr, /ocirt-pid-/) // the pid line exec() adds is not shown
      // b really is the other namespace: its address is on its own interface
      const addrs = await s.run(['ip', '-4', '-o', 'addr', 'show', 'dev', ep === pair.a ? pair.vethA : pair.vethB])
      assert.match(addrs.stdout, new RegExp(`inet ${ep.host.replace(/\./g, '\\.')}/30`))
      assert.equal((await s.run(['id', '-u'])).stdout, '0\n')
      assert.deepEqual(await s.run(['cat'], {stdin: 'fed through stdin'}).then((x) => [x.code, x.stdout]), [0, 'fed through stdin'])
      assert.equal((await s.run(['true'])).code, 0)
    }
  })

  test('an unknown host key is refused before authentication and nothing is recorded', async (t) => {
    const c2 = cleanupFor(t)
    const kh = path.join(tmp(c2, 'kh'), 'known_hosts')
    const before = authLines(pair.b, pair)
    const err = await connectSsh(pair.b, auth(pair.b, {knownHostsFile: kh})).then(() => undefined, (e) => e)
    assert.ok(err instanceof HostKeyUnknown, String(err))
    const fp = fingerprint(Buffer.from(pair.b.hostKey.split(' ')[1], 'base64'))
    for (const part of [`root@${pair.b.host}:${pair.b.port}`, 'ssh-ed25519', fp, kh, '--accept-new-host-key']) {
      assert.ok(err.message.includes(part), `${part} missing in: ${err.message}`)
    }
    assert.match(fp, /^SHA256:[A-Za-z0-9+/]{43}$/)
    assert.equal(fs.existsSync(kh), false)
    await sleep(200)
    assert.equal(authLines(pair.b, pair), before, 'no key was offered to a server that failed verification')
  })

  test('acceptNewHostKey records an unknown key as [host]:port, and it is then known', async (t) => {
    const c2 = cleanupFor(t)
    const kh = path.join(tmp(c2, 'kh'), 'ssh', 'known_hosts') // the directory is created too
    const s = await connectSsh(pair.b, auth(pair.b, {knownHostsFile: kh, acceptNewHostKey: true}))
    await s.close()
    assert.equal(fs.readFileSync(kh, 'utf8'), `[${pair.b.host}]:${pair.b.port} ${pair.b.hostKey}\n`)
    assert.equal(fs.statSync(kh).mode & 0o777, 0o600)
    const again = await connectSsh(pair.b, auth(pair.b, {knownHostsFile: kh}))
    assert.equal((await again.run(['true'])).code, 0)
    await again.close()
    assert.equal(fs.readFileSync(kh, 'utf8').split('\n').filter(Boolean).length, 1)
  })

  test('a changed host key is refused loudly, also with acceptNewHostKey, naming file:line and both fingerprints', async (t) => {
    const c2 = cleanupFor(t)
    const kh = path.join(tmp(c2, 'kh'), 'known_hosts')
    // b's address recorded with a's key (line 2): as if b's key had been replaced
    fs.writeFileSync(kh, `# comment\n[${pair.b.host}]:${pair.b.port} ${pair.a.hostKey}\n`)
    const blob = (k: string) => Buffer.from(k.split(' ')[1], 'base64')
    for (const accept of [false, true]) {
      const err = await connectSsh(pair.b, auth(pair.b, {knownHostsFile: kh, acceptNewHostKey: accept})).then(() => undefined, (e) => e)
      assert.ok(err instanceof HostKeyChanged, String(err))
      for (const part of ['HOST KEY HAS CHANGED', `${kh}:2`, fingerprint(blob(pair.b.hostKey)), fingerprint(blob(pair.a.hostKey)), 'man-in-the-middle']) {
        assert.ok(err.message.includes(part), `${part} missing in: ${err.message}`)
      }
    }
    assert.equal(fs.readFileSync(kh, 'utf8').split('\n').filter(Boolean).length, 2, 'nothing was added')
  })

  test('a key the server does not know, or one with a passphrase, fails with the methods named', async (t) => {
    const c2 = cleanupFor(t)
    const d = tmp(c2, 'keys')
    const stranger = path.join(d, 'stranger')
    const locked = path.join(d, 'locked')
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger])
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret', '-f', locked])
    const err = await connectSsh(pair.a, auth(pair.a, {identityFiles: [stranger]})).then(() => undefined, (e) => e)
    assert.ok(err instanceof SshAuthFailed, String(err))
    assert.deepEqual(err.tried, [`${stranger} (ssh-ed25519)`])
    for (const part of [`root@${pair.a.host}:${pair.a.port}`, 'permission denied', `publickey with ${stranger}`, 'the server accepts: publickey']) {
      assert.ok(err.message.includes(part), `${part} missing in: ${err.message}`)
    }
    const enc = await connectSsh(pair.a, auth(pair.a, {identityFiles: [locked]})).then(() => undefined, (e) => e)
    assert.ok(enc instanceof SshAuthFailed, String(enc))
    assert.match(enc.message, /protected by a passphrase.*ssh-add/)
    // the locked key is skipped, the good one after it is used
    const s = await connectSsh(pair.a, auth(pair.a, {identityFiles: [locked, pair.a.identityFile]}))
    await s.close()
    const missingFile = await connectSsh(pair.a, auth(pair.a, {identityFiles: [path.join(d, 'nope')]})).then(() => undefined, (e) => e)
    assert.match(String(missingFile), /cannot read identity file .*nope: ENOENT/)
  })

  test('awkward argv reaches the remote program word for word; env is passed', async (t) => {
    const s = await connectSsh(pair.b, auth(pair.b))
    t.after(() => s.close())
    const words = ['', 'two words', "it's", '"dq"', '$HOME', '`id`', '$(id)', 'a\nb', '*', '~', 'x;y', '\\', '-n', 'if', 'A=b', 'ü']
    const r = await s.run(['printf', '%s\\0', ...words])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.stdout.split('\0').slice(0, -1), words)
    const p = await s.exec(['sh', '-c', 'printf %s "$ONE|$TWO"'], {env: {ONE: "a 'b' $c", TWO: 'x\ny'}})
    let out = ''
    p.stdout.on('data', (d: Buffer) => (out += d))
    p.stdin.end()
    assert.deepEqual(await p.exit, {code: 0})
    assert.equal(out, "a 'b' $c|x\ny")
  })

  test('kill() signals the remote process group; run() with a timeout fails with what it had', async (t) => {
    const s = await connectSsh(pair.b, auth(pair.b))
    t.after(() => s.close())
    // OpenSSH refuses "signal" requests for root sessions: kill() must still reach the process and its children
    const p = await s.exec(['sh', '-c', 'sleep 30 & echo $$ $!; wait'])
    p.stdin.end()
    const pids = await new Promise<number[]>((r) => p.stdout.once('data', (d) => r(String(d).trim().split(' ').map(Number))))
    assert.equal(pids.length, 2)
    assert.ok(pids.every((pid) => fs.existsSync(`/proc/${pid}`))) // the "remote" is this machine
    const t0 = Date.now()
    p.kill('TERM')
    const st = await p.exit
    assert.deepEqual(st, {code: null, signal: 'SIGTERM'})
    assert.ok(Date.now() - t0 < 5000)
    for (let i = 0; i < 50 && pids.some((pid) => readState(pid) && readState(pid) !== 'Z'); i++) await sleep(100)
    assert.deepEqual(pids.map(readState).filter((x) => x && x !== 'Z'), [], 'shell and its background sleep are gone')
    const err = await s.run(['sh', '-c', 'echo partial; sleep 30'], {timeoutMs: 500}).then(() => undefined, (e) => e)
    assert.ok(err instanceof RemoteCommandTimeout, String(err))
    assert.equal(err.stdout, 'partial\n')
    // the session is still usable
    assert.equal((await s.run(['echo', 'ok'])).stdout, 'ok\n')
  })

  test('both tunnel directions carry data', async (t) => {
    const c2 = cleanupFor(t)
    const s = await connectSsh(pair.b, auth(pair.b))
    t.after(() => s.close())
    // an echo server on b's own loopback (reachable only from inside the namespace), killed by its pid
    const echo = spawn(pair.b.nsPrefix[0], [...pair.b.nsPrefix.slice(1), process.execPath, '-e',
      `const s=require('net').createServer(c=>c.pipe(c)).listen(0,'127.0.0.1',()=>console.log(s.address().port))`],
    {stdio: ['ignore', 'pipe', 'inherit']})
    c2.pid(echo)
    const echoPort = Number(await new Promise<string>((r) => echo.stdout!.once('data', (d) => r(String(d)))))
    const toB = await s.forwardToRemote('127.0.0.1', echoPort)
    const payload = Buffer.alloc(1 << 20, 'x')
    const got = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = []
      const sock = net.connect(toB.port, '127.0.0.1', () => sock.end(payload))
      sock.on('data', (d) => chunks.push(d))
      sock.on('end', () => resolve(Buffer.concat(chunks)))
      sock.on('error', reject)
    })
    assert.ok(got.equals(payload))
    assert.deepEqual(toB.bytes(), {in: payload.length, out: payload.length})
    await toB.close()

    // and back: a listener here, reached from a program on b through b's 127.0.0.1:<tunnel.port>
    const here = net.createServer((conn) => conn.pipe(conn))
    await new Promise<void>((r) => here.listen(0, '127.0.0.1', r))
    t.after(() => here.close())
    const fromB = await s.forwardFromRemote('127.0.0.1', (here.address() as net.AddressInfo).port)
    const r = await s.run([process.execPath, '-e',
      `const c=require('net').connect(${fromB.port},'127.0.0.1',()=>c.end('ping from b'));let o='';c.on('data',d=>o+=d);c.on('end',()=>process.stdout.write(o))`])
    assert.equal(r.stdout, 'ping from b', r.stderr)
    assert.deepEqual(fromB.bytes(), {in: 11, out: 11})
    await fromB.close()
    const refused = await s.run([process.execPath, '-e',
      `require('net').connect(${fromB.port},'127.0.0.1').on('error',e=>{console.log(e.code)}).on('connect',()=>console.log('connected'))`])
    assert.equal(refused.stdout.trim(), 'ECONNREFUSED', 'the remote listener is gone after close()')
  })

  test('a pack → ssh → extract round trip keeps modes, ownership, symlinks, mtimes, fifos and devices', async (t) => {
    const c2 = cleanupFor(t)
    const src = path.join(tmp(c2, 'src'), 'tree')
    const dstRoot = tmp(c2, 'dst')
    makeTree(src)
    const s = await connectSsh(pair.b, auth(pair.b))
    t.after(() => s.close())
    // the remote side extracts with our own extractTree (as the migrate agent does) and with GNU tar
    for (const [name, argv] of [
      ['extractTree', [process.execPath, '-e', `require(${JSON.stringify(STREAM)}).extractTree(process.argv[1], process.stdin)` +
        `.then(r=>console.log(JSON.stringify(r)),e=>{console.error(e.message);process.exit(1)})`, path.join(dstRoot, 'ours')]],
      ['GNU tar', ['sh', '-c', 'mkdir -p "$1" && tar -x --numeric-owner -p -C "$1"', 'sh', path.join(dstRoot, 'gnu')]],
    ] as const) {
      const p = await s.exec([...argv])
      const out: Buffer[] = []
      const err: Buffer[] = []
      p.stdout.on('data', (d: Buffer) => out.push(d))
      p.stderr.on('data', (d: Buffer) => err.push(d))
      const pack = packTree(src)
      pack.pipe(p.stdin)
      const st = await p.exit
      assert.deepEqual(st, {code: 0}, `${name}: ${Buffer.concat(err)}`)
      if (name === 'extractTree') {
        const r = JSON.parse(String(Buffer.concat(out)))
        assert.equal(r.bytes, pack.bytes())
        assert.equal(r.entries, (await listTree(src)).length + 1) // + the root entry "."
      }
    }
    assert.deepEqual(describeTree(path.join(dstRoot, 'ours')), describeTree(src))
    // GNU tar agrees on everything but symlink times (tar sets them too), so compare without those
    const noLinkTimes = (d: Record<string, string>) => Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v.replace(/ mtime=\d+ link/, ' link')]))
    assert.deepEqual(noLinkTimes(describeTree(path.join(dstRoot, 'gnu'))), noLinkTimes(describeTree(src)))
  })

  test('changedSince sends only what changed (and every directory); listTree shows what went away', async (t) => {
    const c2 = cleanupFor(t)
    const src = path.join(tmp(c2, 'src'), 'tree')
    makeTree(src)
    await sleep(50)
    const since = Date.now()
    await sleep(50)
    fs.writeFileSync(path.join(src, 'dir', 'file'), 'changed')
    fs.chmodSync(path.join(src, 'exec'), 0o700) // a metadata change (ctime only) counts too
    fs.writeFileSync(path.join(src, 'new'), 'new file')
    fs.rmSync(path.join(src, 'dir', 'sub', 'deep'))
    const s = await connectSsh(pair.a, auth(pair.a))
    t.after(() => s.close())
    const p = await s.exec(['tar', '-t'])
    let listing = ''
    p.stdout.on('data', (d: Buffer) => (listing += d))
    packTree(src, {changedSince: since, ignore: (rel) => rel === 'dir/ignored'}).pipe(p.stdin)
    assert.deepEqual(await p.exit, {code: 0})
    const names = listing.split('\n').filter(Boolean).map((n) => n.replace(/\/$/, '')).sort()
    assert.deepEqual(names, ['.', 'dir', 'dir/file', 'dir/sub', 'empty-dir', 'exec', 'new', 'sticky'])
    // what the receiver must delete: in the old listing, not in the new one
    const before = (await listTree(src)).concat('dir/sub/deep')
    const exists = (n: string) => fs.lstatSync(path.join(src, n), {throwIfNoEntry: false}) !== undefined
    assert.deepEqual(before.filter((n) => !exists(n)), ['dir/sub/deep'])
  })

  test('extractTree refuses entries that escape the directory and writes nothing outside', async (t) => {
    const c2 = cleanupFor(t)
    const base = tmp(c2, 'escape')
    const outside = path.join(base, 'outside')
    fs.mkdirSync(path.join(base, 'work', 'sub'), {recursive: true})
    fs.mkdirSync(outside)
    fs.writeFileSync(path.join(outside, 'victim'), 'original')
    fs.writeFileSync(path.join(base, 'work', 'up'), 'payload')
    fs.writeFileSync(path.join(base, 'abs'), 'payload')
    fs.symlinkSync(outside, path.join(base, 'work', 'link'))

    const gnuTar = (name: string, args: string[]) => {
      const file = path.join(base, name)
      const r = spawnSync('tar', ['-c', '-P', '-f', file, ...args], {encoding: 'utf8'})
      assert.equal(r.status, 0, r.stderr)
      return file
    }
    const cases: [string, string, RegExp][] = [
      // name with .. (GNU tar -P keeps it)
      ['dotdot.tar', gnuTar('dotdot.tar', ['-C', path.join(base, 'work', 'sub'), '../up']), /"\.\.\/up".*goes up/],
      // absolute name
      ['abs.tar', gnuTar('abs.tar', [path.join(base, 'abs')]), /absolute name/],
      // a symlink to outside, then a file "through" it
      ['through-link.tar', gnuTar('through-link.tar', ['-C', path.join(base, 'work'), 'link', 'link/victim']), /"link\/victim".*parent directory is a symlink/],
    ]
    for (const [name, file, re] of cases) {
      const dest = path.join(base, `dest-${name}`)
      const err = await extractTree(dest, fs.createReadStream(file)).then(() => undefined, (e) => e)
      assert.ok(err instanceof UnsafeTarEntry, `${name}: ${err}`)
      assert.match(err.message, re)
    }
    assert.equal(fs.readFileSync(path.join(outside, 'victim'), 'utf8'), 'original')
    assert.deepEqual(fs.readdirSync(outside), ['victim'])
    assert.equal(fs.existsSync(path.join(base, 'dest-dotdot.tar', '..', 'up')), false)

    // a symlink where the archive has a directory is replaced, not followed (chmod/chown/utimes stay inside)
    const dest = path.join(base, 'dest-replace')
    fs.mkdirSync(dest)
    fs.symlinkSync(outside, path.join(dest, 'd'))
    const srcDir = path.join(base, 'replace-src')
    fs.mkdirSync(path.join(srcDir, 'd'), {recursive: true, mode: 0o777})
    fs.chmodSync(path.join(srcDir, 'd'), 0o777)
    const before = fs.statSync(outside).mode
    await extractTree(dest, packTree(srcDir))
    assert.ok(fs.lstatSync(path.join(dest, 'd')).isDirectory())
    assert.equal(fs.statSync(outside).mode, before)
  })
})

describe('ssh transport: connection loss', {skip: SKIP}, () => {
  let pair: HostPair
  const c = cleanupFor(after)
  before(async () => {
    pair = await makeHostPair(c)
  })

  test('the remote sshd session killed: onClose gets the error and a pending run rejects', async () => {
    const s = await connectSsh(pair.b, auth(pair.b))
    const closed = new Promise<Error | undefined>((r) => s.onClose(r))
    const pending = s.run(['sleep', '30']).then(() => undefined, (e) => e)
    // wait for the command itself (the login shell's rc files are done then), and kill only the session's sshd
    // processes: killing a shell half-way through ~/.bashrc can leave that user's tools in a bad state
    let below: number[] = []
    for (let i = 0; i < 600 && !below.some((p) => readComm(p) === 'sleep'); i++) {
      await sleep(50)
      below = descendants(pair.b.sshdPid)
    }
    const sessions = below.filter((p) => readComm(p) === 'sshd')
    assert.ok(sessions.length > 0, 'the per-connection sshd exists')
    for (const p of sessions) {
      try {
        process.kill(p, 'SIGKILL')
      } catch {}
    }
    const err = await closed
    assert.ok(err instanceof SshConnectionLost, String(err))
    assert.match(err.message, new RegExp(`root@${pair.b.host.replace(/\./g, '\\.')}:${pair.b.port}: connection lost`))
    assert.ok((await pending) instanceof SshConnectionLost)
    await assert.rejects(s.run(['true']), SshConnectionLost)
    await s.close() // harmless afterwards
  })

  test('the network gone (veth down): keepalives notice within seconds', {timeout: 60_000}, async (t) => {
    const s = await connectSsh(pair.b, auth(pair.b))
    const closed = new Promise<Error | undefined>((r) => s.onClose(r))
    const pending = s.run(['sleep', '60']).then(() => undefined, (e) => e)
    for (let i = 0; i < 600 && !descendants(pair.b.sshdPid).some((p) => readComm(p) === 'sleep'); i++) await sleep(50)
    const t0 = Date.now()
    spawnSync('ip', ['link', 'set', pair.vethA, 'down'])
    t.after(() => void spawnSync('ip', ['link', 'set', pair.vethA, 'up']))
    const err = await closed
    const took = Date.now() - t0
    assert.ok(err instanceof SshConnectionLost, String(err))
    assert.match(err.message, /Keepalive timeout|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH/)
    assert.ok((await pending) instanceof SshConnectionLost)
    t.diagnostic(`connection loss noticed after ${took} ms`)
    await s.close()
  })
})

/** the state letter of /proc/<pid>/stat, '' when gone */
function readState(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
  } catch {
    return ''
  }
}

function readComm(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
  } catch {
    return ''
  }
}

/** A tree with every kind of entry and the metadata a container filesystem has. */
function makeTree(root: string): void {
  fs.mkdirSync(path.join(root, 'dir', 'sub'), {recursive: true})
  fs.mkdirSync(path.join(root, 'empty-dir'))
  fs.writeFileSync(path.join(root, 'dir', 'file'), 'content')
  fs.writeFileSync(path.join(root, 'dir', 'sub', 'deep'), Buffer.alloc(300_000, 7))
  fs.writeFileSync(path.join(root, 'dir', 'ignored'), 'not sent')
  fs.writeFileSync(path.join(root, 'exec'), '#!/bin/sh\n')
  fs.chmodSync(path.join(root, 'exec'), 0o755)
  fs.writeFileSync(path.join(root, 'suid'), 'x')
  fs.chownSync(path.join(root, 'suid'), 1000, 1000)
  fs.chmodSync(path.join(root, 'suid'), 0o4750) // after chown, which clears set-id bits
  fs.writeFileSync(path.join(root, 'owned'), 'x')
  fs.chownSync(path.join(root, 'owned'), 100123, 100456) // a user-namespaced owner
  fs.chmodSync(path.join(root, 'owned'), 0o640)
  fs.mkdirSync(path.join(root, 'sticky'))
  fs.chmodSync(path.join(root, 'sticky'), 0o1777)
  fs.symlinkSync('/bin/busybox', path.join(root, 'abs-link'))
  fs.symlinkSync('../file', path.join(root, 'dir', 'sub', 'rel-link'))
  fs.symlinkSync('dangling-target', path.join(root, 'dangling'))
  fs.lchownSync(path.join(root, 'abs-link'), 1000, 1001)
  fs.writeFileSync(path.join(root, 'n'.repeat(150)), 'a long name')
  spawnSync('mkfifo', [path.join(root, 'fifo')])
  spawnSync('mknod', [path.join(root, 'null'), 'c', '1', '3'])
  const old = new Date('2001-02-03T04:05:06Z')
  for (const p of ['dir/file', 'exec', 'suid', 'dir/sub/deep', 'fifo']) fs.utimesSync(path.join(root, p), old, old)
  fs.lutimesSync(path.join(root, 'abs-link'), old, old)
  for (const p of ['dir/sub', 'dir', 'sticky', 'empty-dir']) fs.utimesSync(path.join(root, p), old, old)
}

/** path → type, mode, owner, mtime (s), size, link target, device numbers, content hash. */
function describeTree(root: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (rel: string) => {
    const abs = path.join(root, rel)
    const st = fs.lstatSync(abs)
    const kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'chr' : 'file'
    let extra = ''
    if (kind === 'link') extra = `-> ${fs.readlinkSync(abs)}`
    if (kind === 'chr') extra = `rdev=${st.rdev}`
    if (kind === 'file') extra = `size=${st.size} data=${fs.readFileSync(abs).toString('base64').slice(0, 40)}`
    const mtime = kind === 'dir' ? '' : ` mtime=${Math.floor(st.mtimeMs / 1000)}`
    out[rel || '.'] = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}${mtime} ${kind} ${extra}`.trim()
    if (kind === 'dir') for (const e of fs.readdirSync(abs).sort()) walk(rel ? `${rel}/${e}` : e)
  }
  walk('')
  return out
}
