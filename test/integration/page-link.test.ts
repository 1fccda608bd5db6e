// The page link of `ocirt migrate --page-transport tls|auto` (page-link.ts): the keys made for one migration
// (validity backdated for a host whose clock is behind), the TLS link made with them before anything is frozen
// (it must take this migration's other end and refuse anything else), and the relay that carries CRIU's
// page-server protocol between a socketpair end and the link.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {X509Certificate} from 'node:crypto'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import {makeMigrationTls, TLS_BACKDATE_MS, TLS_VALID_MS} from '../../src/migrate/tls'
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

test("a migration's keys: a CA that says so, certificates for the listening address, valid from an hour back for a day; the CA key is gone", async (t) => {
  if (!requires(t, 'root')) return
  const c = cleanupFor(t)
  const dir = tempDir(c)
  const now = Date.now()
  const keys = await makeMigrationTls(path.join(dir, 'tls'), '10.1.2.3', now)
  const ca = new X509Certificate(keys.server.ca)
  const server = new X509Certificate(keys.server.cert)
  const client = new X509Certificate(keys.client.cert)
  assert.ok(ca.ca, 'the CA certificate has basicConstraints CA:true')
  for (const [name, cert] of [['ca', ca], ['server', server], ['client', client]] as const) {
    const from = Date.parse(cert.validFrom)
    const to = Date.parse(cert.validTo)
    assert.ok(Math.abs(from - (now - TLS_BACKDATE_MS)) <= 1000, `${name} valid from an hour back: ${cert.validFrom}`)
    assert.ok(Math.abs(to - (now + TLS_VALID_MS)) <= 1000, `${name} valid for a day: ${cert.validTo}`)
  }
  assert.ok(server.checkIssued(ca) && client.checkIssued(ca), 'both signed by the CA')
  assert.ok(server.verify(ca.publicKey) && client.verify(ca.publicKey))
  assert.equal(server.checkIP('10.1.2.3'), '10.1.2.3', 'the server certificate names the listening address')
  assert.equal(server.checkIP('10.1.2.4'), undefined)
  assert.ok(!fs.existsSync(path.join(dir, 'tls', 'ca.key')), 'nobody can sign another certificate for this migration')
})

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
  const c = cleanupFor(t)
  const keys = await makeMigrationTls(path.join(tempDir(c), 'tls'), '127.0.0.1')
  const listener = await listenPageLink('127.0.0.1', keys.server, 10_000)
  const [link, accepted] = await Promise.all([connectPageLink('127.0.0.1', listener.port, keys.client, 5000), listener.link])
  c.add('close the links', () => {
    link.destroy()
    accepted.destroy()
  })
  // "criu" on this side: the other end of the socketpair
  const [ours, criuEnd] = makeSocketPair()
  const criu = new net.Socket({fd: criuEnd, readable: true, writable: true})
  const r = relay(ours, link)
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
