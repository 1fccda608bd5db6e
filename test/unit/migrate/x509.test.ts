// The migration's certificates made in-process (x509.ts): what Node's X.509 parser and `openssl verify` read back
// from them: version, names, validity (UTCTime and, from 2050, GeneralizedTime), CA flag, key usage, the
// subjectAltName (IPv4, IPv6, DNS), and a signature chain to the CA.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {X509Certificate} from 'node:crypto'
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {makeCertificate, newKeyPair} from '../../../src/migrate/x509'

function chain(altName: string, notBefore = new Date('2026-12-04T10:00:00Z'), notAfter = new Date('2026-12-05T10:00:00Z')) {
  const ca = newKeyPair()
  const caPem = makeCertificate({subjectCN: 'test-ca', publicKey: ca.publicKey, privateKey: ca.privateKey, notBefore, notAfter, ca: true})
  const leaf = newKeyPair()
  const leafPem = makeCertificate({subjectCN: altName, issuer: {cn: 'test-ca', key: ca.privateKey}, publicKey: leaf.publicKey, privateKey: leaf.privateKey, notBefore, notAfter, ca: false, altName})
  return {ca: new X509Certificate(caPem), leaf: new X509Certificate(leafPem), caPem, leafPem, leafKey: leaf}
}

test('a CA and a leaf for an IPv4 address: names, validity, CA flag, the address, signed by the CA', () => {
  const {ca, leaf, leafKey} = chain('10.1.2.3')
  assert.equal(ca.subject, 'CN=test-ca')
  assert.equal(ca.issuer, 'CN=test-ca')
  assert.equal(ca.ca, true)
  assert.ok(ca.verify(ca.publicKey), 'the CA signs itself')
  assert.equal(leaf.subject, 'CN=10.1.2.3')
  assert.equal(leaf.issuer, 'CN=test-ca')
  assert.equal(leaf.ca, false)
  assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), 'the leaf is signed by the CA')
  assert.equal(leaf.checkIP('10.1.2.3'), '10.1.2.3')
  assert.equal(leaf.checkIP('10.1.2.4'), undefined)
  assert.equal(leaf.subjectAltName, 'IP Address:10.1.2.3')
  assert.equal(Date.parse(leaf.validFrom), Date.parse('2026-12-04T10:00:00Z'))
  assert.equal(Date.parse(leaf.validTo), Date.parse('2026-12-05T10:00:00Z'))
  assert.ok(leaf.checkPrivateKey(leafKey.privateKey))
  assert.equal(leaf.keyUsage, undefined, 'key usage is not an extended key usage (Node lists only those)')
})

test('IPv6 and DNS names; a date from 2050 on is a GeneralizedTime', () => {
  assert.equal(chain('fd00::1:2').leaf.checkIP('fd00::1:2'), 'fd00::1:2')
  assert.equal(chain('::ffff:10.0.0.1').leaf.subjectAltName, 'IP Address:0:0:0:0:0:FFFF:A00:1')
  assert.equal(chain('node-b.example').leaf.checkHost('node-b.example'), 'node-b.example')
  const late = chain('10.0.0.1', new Date('2049-12-31T23:00:00Z'), new Date('2050-01-02T00:00:00Z')).leaf
  assert.equal(Date.parse(late.validFrom), Date.parse('2049-12-31T23:00:00Z'))
  assert.equal(Date.parse(late.validTo), Date.parse('2050-01-02T00:00:00Z'))
})

test('openssl reads the chain back: v3, the extensions, and the leaf verifies against the CA', (t) => {
  if (spawnSync('openssl', ['version']).status !== 0) return t.skip('no openssl here')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-x509-'))
  t.after(() => fs.rmSync(dir, {recursive: true, force: true}))
  const {caPem, leafPem} = chain('10.9.8.7', new Date(Date.now() - 3600e3), new Date(Date.now() + 3600e3))
  fs.writeFileSync(path.join(dir, 'ca.pem'), caPem)
  fs.writeFileSync(path.join(dir, 'leaf.pem'), leafPem)
  const text = spawnSync('openssl', ['x509', '-in', path.join(dir, 'ca.pem'), '-noout', '-text'], {encoding: 'utf8'}).stdout
  assert.match(text, /Version: 3/)
  assert.match(text, /X509v3 Basic Constraints: critical\s+CA:TRUE/)
  assert.match(text, /X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/)
  const leafText = spawnSync('openssl', ['x509', '-in', path.join(dir, 'leaf.pem'), '-noout', '-text'], {encoding: 'utf8'}).stdout
  assert.match(leafText, /X509v3 Key Usage: critical\s+Digital Signature/)
  assert.match(leafText, /IP Address:10\.9\.8\.7/)
  const v = spawnSync('openssl', ['verify', '-CAfile', path.join(dir, 'ca.pem'), path.join(dir, 'leaf.pem')], {encoding: 'utf8'})
  assert.equal(v.status, 0, v.stderr)
})
