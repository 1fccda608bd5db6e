// A migration's page server connection gets its own TCP congestion control (src/migrate/page-congestion.ts): set from
// this process on the listening socket of a child (criu's), which the connections it accepts then inherit.
// Checked here on a real listener in a child process, through `ss` as well as through our own getsockopt.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as net from 'node:net'
import {spawn, spawnSync} from 'node:child_process'
import {setPageServerCongestion} from '../../src/migrate/page-congestion'
import {getTcpCongestion, socketFdsOf, tcpLocalPort} from '../../src/core/sys/tcp-congestion'
import {getFdOf} from '../../src/core/sys/proc'
import {requires} from '../helpers/requires'

const HOST_DEFAULT = fs.readFileSync('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8').trim()
// reno and cubic are built into every kernel we run on; take the one that is not the host's default (root may set
// one that tcp_allowed_congestion_control does not list)
const OTHER = HOST_DEFAULT === 'cubic' ? 'reno' : 'cubic'

interface Listener {
  pid: number
  port: number
  /** resolves once the child has accepted `n` connections in all */
  accepted(n: number): Promise<void>
}

/** A child process listening on a loopback port, holding every connection it accepts and saying so on stdout. */
async function startListener(t: {after(fn: () => void): void}): Promise<Listener> {
  const child = spawn(process.execPath, ['-e', `
    const held = []
    const server = require('node:net').createServer((c) => { held.push(c); console.log('accepted') })
    server.listen(0, '127.0.0.1', () => console.log(server.address().port))
  `], {stdio: ['ignore', 'pipe', 'inherit']})
  t.after(() => {
    if (child.exitCode === null) process.kill(child.pid!, 'SIGKILL')
  })
  const lines: string[] = []
  const waiters: (() => void)[] = []
  let buf = ''
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString()
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      lines.push(buf.slice(0, i))
      buf = buf.slice(i + 1)
    }
    for (const w of waiters.splice(0)) w()
  })
  const until = (ok: () => boolean) => new Promise<void>((resolve, reject) => {
    const check = () => (ok() ? resolve() : child.exitCode !== null ? reject(new Error('the listener exited')) : waiters.push(check))
    check()
  })
  await until(() => lines.length >= 1)
  return {pid: child.pid!, port: Number(lines[0]), accepted: (n) => until(() => lines.filter((l) => l === 'accepted').length >= n)}
}

async function connect(t: {after(fn: () => void): void}, port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1')
  t.after(() => s.destroy())
  await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject))
  return s
}

/** the congestion control `ss` shows for each established connection whose local port is `port` */
function ssAlgorithms(port: number): string[] {
  const out = spawnSync('ss', ['-tinH', 'state', 'established', `sport = :${port}`], {encoding: 'utf8'}).stdout
  return out.split('\n').filter((l) => /^\s/.test(l)).map((l) => l.trim().split(/\s+/)[0])
}

test(`sets ${OTHER} on a child's listener and on what it accepted; later connections inherit it`, async (t) => {
  if (!requires(t, 'root')) return
  const l = await startListener(t)
  await connect(t, l.port)
  await l.accepted(1) // accepted before the change
  const r = setPageServerCongestion(l.pid, l.port, OTHER)
  assert.deepEqual(r, {set: true, detail: `${OTHER} on criu ${l.pid}'s page server (port ${l.port}, 2 sockets)`})
  await connect(t, l.port)
  await l.accepted(2) // accepted after it
  assert.deepEqual(ssAlgorithms(l.port), [OTHER, OTHER], `ss on port ${l.port}`)
  // the listener too, read back through copies of the child's descriptors
  const ours = socketFdsOf(l.pid).map((fd) => getFdOf(l.pid, fd))
  try {
    const onPort = ours.filter((fd) => tcpLocalPort(fd) === l.port)
    assert.equal(onPort.length, 3, 'the listener and the two connections it accepted')
    for (const fd of onPort) assert.equal(getTcpCongestion(fd), OTHER)
  } finally {
    for (const fd of ours) fs.closeSync(fd)
  }
})

test("without criu's pid, or with one that is not a child, finds the listener among this process's children", async (t) => {
  if (!requires(t, 'root')) return
  const l = await startListener(t)
  assert.deepEqual(setPageServerCongestion(undefined, l.port, OTHER), {set: true, detail: `${OTHER} on criu ${l.pid}'s page server (port ${l.port}, 1 socket)`})
  assert.equal(setPageServerCongestion(1, l.port, OTHER).set, true, 'pid 1 is nobody this process started')
  await connect(t, l.port)
  await l.accepted(1)
  assert.deepEqual(ssAlgorithms(l.port), [OTHER])
})

test('an unknown algorithm or a port nobody listens on changes nothing and says why (the migration goes on)', async (t) => {
  if (!requires(t, 'root')) return
  const l = await startListener(t)
  const unknown = setPageServerCongestion(l.pid, l.port, 'ocirt-none')
  assert.equal(unknown.set, false)
  assert.match(unknown.detail, /setsockopt\(TCP_CONGESTION, ocirt-none\).*ENOENT/)
  await connect(t, l.port)
  await l.accepted(1)
  assert.deepEqual(ssAlgorithms(l.port), [HOST_DEFAULT], "the connection has the host's default")
  assert.equal(setPageServerCongestion(l.pid, l.port, 'x'.repeat(16)).set, false)
  assert.match(setPageServerCongestion(l.pid, l.port, 'x'.repeat(16)).detail, /not a congestion control name/)
  const server = net.createServer().listen(0, '127.0.0.1') // ours: a port no child has
  t.after(() => server.close())
  await new Promise((resolve) => server.once('listening', resolve))
  const ownPort = (server.address() as net.AddressInfo).port
  assert.deepEqual(setPageServerCongestion(l.pid, ownPort, OTHER), {set: false, detail: `no process of this migration listens on port ${ownPort}`})
})
