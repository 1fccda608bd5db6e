// The migration's certificates, made in this process: a CA and leaf certificates of one fixed shape (EC P-256,
// ECDSA-SHA256, the extensions below), DER-encoded here and signed with Node's crypto. Six `openssl` runs took
// ~330 ms of a migration's sync on this VM, competing with the bundle's stream for the CPUs; this takes ~5 ms.
// X.509 libraries for Node need a global reflect-metadata polyfill or weigh megabytes for what is one fixed
// shape; Node's own X509Certificate and the tests check what this makes (test/unit/migrate/x509.test.ts), and
// CRIU's GnuTLS takes it (test/integration/migrate-tls.test.ts).
import * as crypto from 'node:crypto'
import * as net from 'node:net'

export interface CertificateRequest {
  subjectCN: string
  /** the signer: its name and key; absent, the certificate signs itself (the CA) */
  issuer?: {cn: string; key: crypto.KeyObject}
  publicKey: crypto.KeyObject
  /** signs itself when there is no issuer */
  privateKey: crypto.KeyObject
  notBefore: Date
  notAfter: Date
  ca: boolean
  /** subjectAltName: an IP address or a DNS name */
  altName?: string
}

/** A certificate as PEM. */
export function makeCertificate(r: CertificateRequest): string {
  const issuerCN = r.issuer?.cn ?? r.subjectCN
  const signer = r.issuer?.key ?? r.privateKey
  const extensions = [
    extension(OID.basicConstraints, r.ca, seq(r.ca ? [bool(true)] : [])),
    // keyCertSign and cRLSign for the CA (bits 5, 6), digitalSignature for a leaf (bit 0)
    extension(OID.keyUsage, true, r.ca ? bitString(Buffer.of(0x06), 1) : bitString(Buffer.of(0x80), 7)),
    ...(r.altName ? [extension(OID.subjectAltName, false, seq([generalName(r.altName)]))] : []),
  ]
  const tbs = seq([
    explicit(0, integer(Buffer.of(2))), // v3
    integer(serial()),
    ECDSA_SHA256,
    name(issuerCN),
    seq([time(r.notBefore), time(r.notAfter)]),
    name(r.subjectCN),
    r.publicKey.export({type: 'spki', format: 'der'}),
    explicit(3, seq(extensions)),
  ])
  const signature = crypto.sign('sha256', tbs, {key: signer, dsaEncoding: 'der'})
  const der = seq([tbs, ECDSA_SHA256, bitString(signature, 0)])
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`
}

export function newKeyPair(): {publicKey: crypto.KeyObject; privateKey: crypto.KeyObject; pem: string} {
  const {publicKey, privateKey} = crypto.generateKeyPairSync('ec', {namedCurve: 'P-256'})
  return {publicKey, privateKey, pem: privateKey.export({type: 'pkcs8', format: 'pem'}) as string}
}

const OID = {
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
}

function tlv(tag: number, body: Buffer): Buffer {
  const n = body.length
  const len = n < 0x80 ? Buffer.of(n) : n < 0x100 ? Buffer.of(0x81, n) : n < 0x10000 ? Buffer.of(0x82, n >> 8, n & 0xff) : Buffer.of(0x83, n >> 16, (n >> 8) & 0xff, n & 0xff)
  return Buffer.concat([Buffer.of(tag), len, body])
}

const seq = (items: Buffer[]) => tlv(0x30, Buffer.concat(items))
const set = (items: Buffer[]) => tlv(0x31, Buffer.concat(items))
const bool = (v: boolean) => tlv(0x01, Buffer.of(v ? 0xff : 0))
const octets = (b: Buffer) => tlv(0x04, b)
const explicit = (n: number, inner: Buffer) => tlv(0xa0 | n, inner)
const bitString = (b: Buffer, unusedBits: number) => tlv(0x03, Buffer.concat([Buffer.of(unusedBits), b]))

/** a non-negative INTEGER: a leading 0 byte when the high bit is set */
function integer(b: Buffer): Buffer {
  return tlv(0x02, b[0] & 0x80 ? Buffer.concat([Buffer.of(0), b]) : b)
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number)
  const out = [a * 40 + b]
  for (const v of rest) {
    const bytes = [v & 0x7f]
    for (let x = v >>> 7; x > 0; x >>>= 7) bytes.unshift((x & 0x7f) | 0x80)
    out.push(...bytes)
  }
  return tlv(0x06, Buffer.from(out))
}

const ECDSA_SHA256 = seq([oid(OID.ecdsaWithSHA256)])

function name(cn: string): Buffer {
  return seq([set([seq([oid(OID.commonName), tlv(0x0c, Buffer.from(cn, 'utf8'))])])])
}

/** UTCTime until 2049, GeneralizedTime after (RFC 5280 4.1.2.5) */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z') // YYYYMMDDHHMMSSZ
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2), 'ascii')) : tlv(0x18, Buffer.from(iso, 'ascii'))
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq([oid(id), ...(critical ? [bool(true)] : []), octets(value)])
}

function generalName(altName: string): Buffer {
  const kind = net.isIP(altName)
  if (kind === 4) return tlv(0x87, Buffer.from(altName.split('.').map(Number)))
  if (kind === 6) return tlv(0x87, ipv6Bytes(altName))
  return tlv(0x82, Buffer.from(altName, 'ascii'))
}

function ipv6Bytes(addr: string): Buffer {
  const [head, tail = ''] = addr.split('::')
  const parse = (s: string) => (s ? s.split(':') : []).flatMap((g) => (g.includes('.') ? ipv4Groups(g) : [parseInt(g, 16)]))
  const h = parse(head)
  const t = addr.includes('::') ? parse(tail) : []
  const groups = [...h, ...Array(8 - h.length - t.length).fill(0), ...t]
  const out = Buffer.alloc(16)
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2))
  return out
}

function ipv4Groups(v4: string): number[] {
  const b = v4.split('.').map(Number)
  return [(b[0] << 8) | b[1], (b[2] << 8) | b[3]]
}

/** 16 random bytes, positive */
function serial(): Buffer {
  const b = crypto.randomBytes(16)
  b[0] &= 0x7f
  if (b[0] === 0) b[0] = 1
  return b
}
