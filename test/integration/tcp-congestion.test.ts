// A migration's page server connection gets its own TCP congestion control (src/migrate/page-congestion.ts): set from
// this process on the listening socket of another one (criu's), which the connections it accepts then inherit.
// Checked here on a real listener in a child process, through `ss` as well as through our own getsockopt.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as net from 'node:net'
import {spawn, spawnSync} from 'node:child_process'
import {setPageServerCongestion} from '../../src/migrate/page-congestion'
import {fdsOfSockets, getTcpCongestion, localPortInodes} from '../../src/core/sys/tcp-congestion'
import {getFdOf} from '../../src/core/sys/proc'

const HOST_DEFAULT = fs.readFileSync('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8').trim()
// reno and cubic are built into every kernel we run on; take the one that is not the host's default
const OTHER = HOST_DEFAULT === 'cubic' ? 'reno' : 'cubic'

/** A child process listening on a loopback port, holding every connection it accepts. */
async function startListener(t: {after(fn: () => void): void}): Promise<{pid: number; port: number}> {
  const child = spawn(process.execPath, ['-e', `
    const held = []
    const server = require('node:net').createServer((c) => held.push(c))
    server.listen(0, '127.0.0.1', () => console.log(server.address().port))
  `], {stdio: ['ignore', 'pipe', 'inherit']})
  t.after(() => {
    if (child.exitCode === null) process.kill(child.pid!, 'SIGKILL')
  })
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
    child.once('exit', () => reject(new Error('the listener exited')))
  })
  return {pid: child.pid!, port}
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

test(`sets ${OTHER} on another process's listener and on what it accepted; later connections inherit it`, async (t) => {
  const {pid, port} = await startListener(t)
  await connect(t, port) // accepted before the change
  const r = setPageServerCongestion([pid], port, OTHER)
  assert.deepEqual(r, {set: true, detail: `${OTHER} on criu ${pid}'s page server (port ${port})`})
  await connect(t, port) // accepted after it
  await new Promise((resolve) => setTimeout(resolve, 50)) // the child's accept
  assert.deepEqual(ssAlgorithms(port), [OTHER, OTHER], `ss on port ${port}`)
  // the listener itself, read back through a copy of its descriptor
  const fds = fdsOfSockets(pid, localPortInodes(pid, port))
  assert.equal(fds.length, 3, 'the listener and the two connections it accepted')
  for (const fd of fds) {
    const own = getFdOf(pid, fd)
    try {
      assert.equal(getTcpCongestion(own), OTHER)
    } finally {
      fs.closeSync(own)
    }
  }
})

test("without the criu's pid, finds the listener among this process's children", async (t) => {
  const {pid, port} = await startListener(t)
  assert.deepEqual(setPageServerCongestion([], port, OTHER), {set: true, detail: `${OTHER} on criu ${pid}'s page server (port ${port})`})
  await connect(t, port)
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.deepEqual(ssAlgorithms(port), [OTHER])
})

test('an unknown algorithm or a port nobody listens on changes nothing and says why (the migration goes on)', async (t) => {
  const {pid, port} = await startListener(t)
  const unknown = setPageServerCongestion([pid], port, 'ocirt-none')
  assert.equal(unknown.set, false)
  assert.match(unknown.detail, /setsockopt\(TCP_CONGESTION, ocirt-none\).*ENOENT/)
  await connect(t, port)
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.deepEqual(ssAlgorithms(port), [HOST_DEFAULT], "the connection has the host's default")
  const tooLong = setPageServerCongestion([pid], port, 'x'.repeat(16))
  assert.deepEqual(tooLong, {set: false, detail: `not a congestion control name: "${'x'.repeat(16)}"`})
  const server = net.createServer().listen(0, '127.0.0.1') // ours, so that this port is free of any child's
  t.after(() => server.close())
  await new Promise((resolve) => server.once('listening', resolve))
  const freePort = (server.address() as net.AddressInfo).port
  server.close()
  assert.deepEqual(setPageServerCongestion([pid], freePort, OTHER), {set: false, detail: `no process of this migration listens on port ${freePort}`})
})
