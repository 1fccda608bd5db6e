// Stop-copy's page link (page-link.ts, `ocirt migrate --mode stop-copy --page-transport tls|auto`): the TLS link made
// with the migration's keys before anything is frozen (it must take this migration's other end and refuse anything
// else), and the relay that carries CRIU's page-server protocol between a socketpair end and the link. The keys
// themselves: migrate-tls.test.ts.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import {makeMigrationTls, TLS_VALID_MS} from '../../src/migrate/tls'
import {connectPageLink, listenPageLink, relay} from '../../src/migrate/page-link'
import {makeSocketPair} from '../../src/core/sys/socketpair'
import {Cleanup} from '../helpers/cleanup'
import {requires} from '../helpers/requires'

function tempDir(c: Cleanup): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-tls-test-'))
  c.dir(dir)
  return dir
}

function cleanupFor(t: {after: (fn: () => Promise<void>) => void}): Cleanup {
  const c = new Cleanup()
  t.after(() => c.run())
  return c
}

/** A link made with fresh keys, and a socketpair whose one end plays criu and whose other end is ours to relay. */
async function linkedCriu(c: Cleanup) {
  const keys = await makeMigrationTls(path.join(tempDir(c), 'tls'), '127.0.0.1')
  const listener = await listenPageLink('127.0.0.1', keys.server, 10_000)
  const [socket, accepted] = await Promise.all([connectPageLink('127.0.0.1', listener.port, keys.client, 5000), listener.link])
  const [ours, criuEnd] = makeSocketPair()
  const criu = new net.Socket({fd: criuEnd, readable: true, writable: true})
  c.add('close the links and criu', () => {
    socket.destroy()
    accepted.destroy()
    criu.destroy()
  })
  return {link: {socket, ours}, accepted, criu}
}

test("the link: another migration's end is refused and the listener still takes this migration's; then it listens no more", async (t) => {
  if (!requires(t, 'root')) return
  const c = cleanupFor(t)
  const dir = tempDir(c)
  const keys = await makeMigrationTls(path.join(dir, 'mine'), '127.0.0.1')
  const other = await makeMigrationTls(path.join(dir, 'other'), '127.0.0.1')
  const listener = await listenPageLink('127.0.0.1', keys.server, 10_000)
  c.add('close the listener', () => listener.close())
  // trusts the right CA, but presents a certificate from another migration's CA
  await assert.rejects(connectPageLink('127.0.0.1', listener.port, {...other.client, ca: keys.client.ca}, 5000), /did not accept this host's certificate/)
  // no client certificate at all
  await assert.rejects(connectPageLink('127.0.0.1', listener.port, {ca: keys.client.ca, cert: '', key: ''}, 5000))
  const mine = await connectPageLink('127.0.0.1', listener.port, keys.client, 5000)
  c.add('close the link', () => void mine.destroy())
  const accepted = await listener.link
  c.add('close the accepted link', () => void accepted.destroy())
  assert.equal(accepted.authorized, true)
  await assert.rejects(connectPageLink('127.0.0.1', listener.port, keys.client, 2000), /cannot connect to 127\.0\.0\.1/)
})

test('the link: a listener whose certificate names another address is refused by the connecting end', async (t) => {
  if (!requires(t, 'root')) return
  const c = cleanupFor(t)
  const keys = await makeMigrationTls(path.join(tempDir(c), 'tls'), '127.0.0.2')
  const listener = await listenPageLink('127.0.0.1', keys.server, 10_000)
  c.add('close the listener', () => listener.close())
  await assert.rejects(connectPageLink('127.0.0.1', listener.port, keys.client, 5000), /ERR_TLS_CERT_ALTNAME_INVALID|IP: 127\.0\.0\.1 is not in the cert's list/)
})

test("the link: certificates made two days ago have expired, and the error says which clock to look at", async (t) => {
  if (!requires(t, 'root')) return
  const c = cleanupFor(t)
  const keys = await makeMigrationTls(path.join(tempDir(c), 'tls'), '127.0.0.1', Date.now() - 2 * TLS_VALID_MS)
  const listener = await listenPageLink('127.0.0.1', keys.server, 10_000)
  c.add('close the listener', () => listener.close())
  await assert.rejects(connectPageLink('127.0.0.1', listener.port, keys.client, 5000), /certificate has expired here: this clock is more than a day ahead/)
})

test('the link: nobody connects within the time given; the listener says so and is gone', async (t) => {
  if (!requires(t, 'root')) return
  const c = cleanupFor(t)
  const keys = await makeMigrationTls(path.join(tempDir(c), 'tls'), '127.0.0.1')
  const listener = await listenPageLink('127.0.0.1', keys.server, 300)
  await assert.rejects(listener.link, /nobody with this migration's certificate connected to 127\.0\.0\.1 within 300 ms/)
  await assert.rejects(connectPageLink('127.0.0.1', listener.port, keys.client, 2000), /cannot connect/)
})

test('the relay carries bytes both ways between a socketpair end and the link, counts them, and ends when one side closes', async (t) => {
  if (!requires(t, 'root')) return
  const {link, accepted, criu} = await linkedCriu(cleanupFor(t))
  const r = relay(link.ours, link.socket)
  const big = Buffer.alloc(8 << 20, 0xa5)
  const farGot: Buffer[] = []
  accepted.on('data', (b: Buffer) => farGot.push(b))
  criu.write(big)
  const nearGot = new Promise<Buffer>((resolve) => criu.once('data', resolve))
  accepted.write(Buffer.from('pages please'))
  assert.equal((await nearGot).toString(), 'pages please')
  await new Promise<void>((resolve) => {
    const check = () => (Buffer.concat(farGot).length >= big.length ? resolve() : setTimeout(check, 10))
    check()
  })
  assert.ok(Buffer.concat(farGot).equals(big), 'the far end got the 8 MiB intact')
  assert.equal(r.sent(), big.length)
  assert.equal(r.received(), 'pages please'.length)
  const farClosed = new Promise<void>((resolve) => accepted.once('close', () => resolve()))
  criu.end() // criu exits: its end closes
  assert.equal(await r.done, undefined, 'no error')
  await farClosed
})

test("the relay: when the far end goes, criu's side is closed too, so a criu still writing gets an error instead of waiting forever", async (t) => {
  if (!requires(t, 'root')) return
  const {link, accepted, criu} = await linkedCriu(cleanupFor(t))
  const r = relay(link.ours, link.socket)
  // criu sends and never reads, as a dump splicing pages into its page-server socket
  const chunk = Buffer.alloc(1 << 20, 7)
  let writing = true
  const pump = () => {
    while (writing && criu.write(chunk));
    if (writing) criu.once('drain', pump)
  }
  pump()
  await new Promise((resolve) => setTimeout(resolve, 200))
  accepted.end() // the target's page server died: its relay ends its side of the link in good order
  const outcome = await new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve('still blocked after 5 s'), 5000)
    criu.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      resolve(`error ${err.code}`)
    })
    criu.once('close', () => {
      clearTimeout(timer)
      resolve('closed')
    })
  })
  writing = false
  assert.match(outcome, /error (EPIPE|ECONNRESET)|closed/)
  await r.done
})

test('the relay: a link already gone when the relay starts closes criu\'s side at once', async (t) => {
  if (!requires(t, 'root')) return
  const {link, accepted, criu} = await linkedCriu(cleanupFor(t))
  const gone = new Promise((resolve) => link.socket.once('close', resolve))
  accepted.destroy()
  link.socket.destroy() // reset while the bundle streamed, before the freeze
  await gone
  const closed = new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve('still open after 3 s'), 3000)
    criu.once('close', () => {
      clearTimeout(timer)
      resolve('closed')
    })
    criu.resume()
  })
  const r = relay(link.ours, link.socket)
  assert.equal(await closed, 'closed')
  await r.done
})

test('the relay: once bytes have moved, a link silent for idleMs is given up and criu\'s side closed', async (t) => {
  if (!requires(t, 'root')) return
  const {link, accepted, criu} = await linkedCriu(cleanupFor(t))
  const r = relay(link.ours, link.socket, 300)
  accepted.resume()
  criu.write(Buffer.from('open')) // the dump's first command; then the target vanishes without a word
  const started = Date.now()
  const closed = new Promise<void>((resolve) => criu.once('close', () => resolve()))
  criu.resume()
  criu.on('error', () => undefined)
  await closed
  const waited = Date.now() - started
  assert.ok(waited >= 250 && waited < 3000, `closed after ${waited} ms`)
  assert.match(String((await r.done)?.message), /nothing crossed the page link for 0\.3 s/)
})
