// The page server's TLS for `ocirt migrate --page-transport tls|auto`: the keys made for one migration (validity
// backdated for a target whose clock is behind), and the probe that tries them against a real `criu page-server
// --tls` before anything is frozen: it must accept the right keys and refuse another migration's, a certificate for
// another address, and a criu that cannot serve TLS.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {X509Certificate} from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {makeMigrationTls, TLS_BACKDATE_MS, TLS_VALID_MS} from '../../src/migrate/tls'
import {criuDoesTls, pageServerHandshake, probeOwnCriuTls, startProbeListener, startProbePageServer} from '../../src/migrate/tls-probe'
import type {Runtime} from '../../src/core/runtime'
import {Cleanup} from '../helpers/cleanup'
import {requires} from '../helpers/requires'

function tempDir(c: Cleanup): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-tls-test-'))
  c.dir(dir)
  return dir
}

function probeDirs(): string[] {
  return fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('ocirt-tls-probe-') || n.startsWith('ocirt-tls-keys-'))
}

test("a migration's keys: a CA that says so, certificates for the source's address, valid from an hour back for a day; the CA key is gone", async (t) => {
  if (!requires(t, 'root')) return
  const c = new Cleanup()
  t.after(() => c.run())
  const dir = tempDir(c)
  const now = Date.now()
  const keys = await makeMigrationTls(path.join(dir, 'tls'), '10.1.2.3', now)
  const ca = new X509Certificate(fs.readFileSync(keys.serverFiles!.ca))
  const server = new X509Certificate(fs.readFileSync(keys.serverFiles!.cert))
  const client = new X509Certificate(keys.client.cert)
  assert.ok(ca.ca, 'the CA certificate has basicConstraints CA:true (GnuTLS needs it)')
  for (const [name, cert] of [['ca', ca], ['server', server], ['client', client]] as const) {
    const from = Date.parse(cert.validFrom)
    const to = Date.parse(cert.validTo)
    assert.ok(Math.abs(from - (now - TLS_BACKDATE_MS)) <= 1000, `${name} valid from an hour back: ${cert.validFrom}`)
    assert.ok(Math.abs(to - (now + TLS_VALID_MS)) <= 1000, `${name} valid for a day: ${cert.validTo}`)
  }
  assert.ok(server.checkIssued(ca) && client.checkIssued(ca), 'both signed by the CA')
  assert.ok(server.verify(ca.publicKey) && client.verify(ca.publicKey))
  assert.equal(server.checkIP('10.1.2.3'), '10.1.2.3', 'the server certificate names the source address')
  assert.equal(server.checkIP('10.1.2.4'), undefined)
  assert.ok(!fs.existsSync(path.join(dir, 'tls', 'ca.key')), 'nobody can sign another certificate for this migration')
  assert.equal(keys.server.cert, fs.readFileSync(keys.serverFiles!.cert, 'utf8'), 'the PEM texts are the files CRIU reads')
  assert.equal(keys.server.key, fs.readFileSync(keys.serverFiles!.key, 'utf8'))
  // stop-copy's keys stay in memory: nothing written
  const inMemory = await makeMigrationTls(path.join(dir, 'push'), '10.1.2.3', now, {serverFiles: false})
  assert.equal(inMemory.serverFiles, undefined)
  assert.ok(!fs.existsSync(path.join(dir, 'push')), 'no key file for stop-copy')
})

test("probe: criu's TLS page server accepts this migration's client and answers; another migration's client is refused", async (t) => {
  if (!requires(t, 'root', 'criu')) return
  const c = new Cleanup()
  t.after(() => c.run())
  const dir = tempDir(c)
  const keys = await makeMigrationTls(path.join(dir, 'mine'), '127.0.0.1')
  const other = await makeMigrationTls(path.join(dir, 'other'), '127.0.0.1')
  const before = probeDirs()

  const server = await startProbePageServer('criu', keys.serverFiles!, '127.0.0.1')
  c.add('stop the probe page server', () => server.stop())
  const ok = await pageServerHandshake('127.0.0.1', server.port, keys.client, 5000)
  assert.ok(ok.ok, ok.detail)
  assert.match(ok.detail, /both certificates accepted/)
  server.stop()

  const server2 = await startProbePageServer('criu', keys.serverFiles!, '127.0.0.1')
  c.add('stop the probe page server', () => server2.stop())
  // trusts the right CA, but presents a certificate from another migration's CA
  const foreign = await pageServerHandshake('127.0.0.1', server2.port, {...other.client, ca: keys.client.ca}, 5000)
  assert.equal(foreign.ok, false)
  assert.match(foreign.detail, /did not accept this host's certificate/)
  server2.stop()
  assert.deepEqual(probeDirs().filter((d) => !before.includes(d)), [], 'the probe page servers left no directory')
})

test("probe: a page server whose certificate is for another address is refused, as CRIU's lazy-pages daemon would", async (t) => {
  if (!requires(t, 'root', 'criu')) return
  const c = new Cleanup()
  t.after(() => c.run())
  const keys = await makeMigrationTls(path.join(tempDir(c), 'tls'), '127.0.0.2')
  const server = await startProbePageServer('criu', keys.serverFiles!, '127.0.0.1')
  c.add('stop the probe page server', () => server.stop())
  const r = await pageServerHandshake('127.0.0.1', server.port, keys.client, 5000)
  assert.equal(r.ok, false)
  assert.match(r.detail, /ERR_TLS_CERT_ALTNAME_INVALID|does not match|IP: 127\.0\.0\.1 is not in the cert's list/i, r.detail)
})

test("probe of the target's own criu: works with the real one; a criu that cannot serve TLS is named with the reason", async (t) => {
  if (!requires(t, 'root', 'criu')) return
  const c = new Cleanup()
  t.after(() => c.run())
  const dir = tempDir(c)
  const keys = await makeMigrationTls(path.join(dir, 'tls'), '10.9.9.9')
  const before = probeDirs()
  const good = await probeOwnCriuTls('criu', keys.client, 5000)
  assert.ok(good.ok, good.detail)

  // a "criu" that exits at once, as one built without TLS support fails on --tls
  const fake = path.join(dir, 'criu-without-tls')
  fs.writeFileSync(fake, '#!/bin/sh\necho "CRIU was built without TLS support" >&2\nexit 1\n', {mode: 0o755})
  const bad = await probeOwnCriuTls(fake, keys.client, 5000)
  assert.equal(bad.ok, false)
  assert.match(bad.detail, /this host's criu cannot serve TLS: criu page-server exited \(1\) before listening/)
  const missing = await probeOwnCriuTls(path.join(dir, 'no-such-criu'), keys.client, 5000)
  assert.equal(missing.ok, false)
  assert.match(missing.detail, /cannot run .*no-such-criu/)
  assert.deepEqual(probeDirs().filter((d) => !before.includes(d)), [], 'no key or image directory left behind')
})

test("the source's probe listener: takes this migration's client certificate naming its address; refuses another migration's, and one for another address", async (t) => {
  if (!requires(t, 'root')) return
  const c = new Cleanup()
  t.after(() => c.run())
  const dir = tempDir(c)
  const keys = await makeMigrationTls(path.join(dir, 'mine'), '127.0.0.1')
  const other = await makeMigrationTls(path.join(dir, 'other'), '127.0.0.1')
  const listener = await startProbeListener('127.0.0.1', keys.server)
  c.add('stop the listener', () => listener.stop())
  const ok = await pageServerHandshake('127.0.0.1', listener.port, keys.client, 5000)
  assert.ok(ok.ok, ok.detail)
  const foreign = await pageServerHandshake('127.0.0.1', listener.port, {...other.client, ca: keys.client.ca}, 5000)
  assert.equal(foreign.ok, false, 'another CA signed it')
  // signed by this migration's CA, but naming another address: CRIU's page server refuses that, so must the probe
  const elsewhere = await makeMigrationTls(path.join(dir, 'elsewhere'), '127.0.0.9')
  const misnamed = await pageServerHandshake('127.0.0.1', listener.port, {...keys.client, cert: elsewhere.client.cert, key: elsewhere.client.key}, 5000)
  assert.equal(misnamed.ok, false)
})

test('criuDoesTls asks criu once per binary: a success is remembered, a failure asked again', async (t) => {
  if (!requires(t, 'root', 'criu')) return
  const c = new Cleanup()
  t.after(() => c.run())
  const dir = tempDir(c)
  const keys = await makeMigrationTls(path.join(dir, 'tls'), '10.9.9.9')
  const rt = {criu: 'criu', root: path.join(dir, 'root')} as unknown as Runtime
  const first = await criuDoesTls(rt, keys.client, 5000)
  assert.ok(first.ok, first.detail)
  assert.doesNotMatch(first.detail, /known from an earlier check/)
  const again = await criuDoesTls(rt, keys.client, 5000)
  assert.ok(again.ok)
  assert.match(again.detail, /known from an earlier check/)
  // a "criu" that cannot serve TLS: refused, and asked again the next time (nothing remembered)
  const fake = path.join(dir, 'criu-without-tls')
  fs.writeFileSync(fake, '#!/bin/sh\necho "CRIU was built without TLS support" >&2\nexit 1\n', {mode: 0o755})
  const fakeRt = {criu: fake, root: path.join(dir, 'root2')} as unknown as Runtime
  for (let n = 0; n < 2; n++) {
    const bad = await criuDoesTls(fakeRt, keys.client, 5000)
    assert.equal(bad.ok, false)
    assert.match(bad.detail, /this host's criu cannot serve TLS: criu page-server exited \(1\) before listening/)
  }
})
