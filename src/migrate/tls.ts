// Keys for one migration's memory path: a throwaway CA, and a server and a client certificate that both name the
// listening host's address. Post-copy: CRIU's own TLS (--tls) between the source's page server and the target's
// lazy-pages daemon; stop-copy: the page link (page-link.ts) between the two ocirt processes. Both sides check the other against
// the CA, whose key is deleted as soon as the two certificates are signed, so nothing else can ever join.
// Made with the openssl command (Node can make keys but not X.509 certificates); `openssl ca` rather than
// `openssl x509 -req` because only it can backdate a certificate on OpenSSL 3.0 (Debian 12). Asynchronously: the
// migration makes them while the bundle streams (a blocked event loop would stall that stream), the three keys
// at once; the signatures one after the other (`openssl ca` keeps its serial and index in files).
import {spawn} from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import {OcirtError} from '../core/errors'

export interface TlsFiles {
  ca: string
  cert: string
  key: string
}

export interface TlsPem {
  ca: string
  cert: string
  key: string
}

/** PEM texts; the listening end's goes over the SSH channel when the target listens, the other's when it connects */
export interface MigrationTls {
  /** for the end that listens */
  server: TlsPem
  /** the same, as the files in dir (CRIU reads its keys from files) */
  serverFiles: TlsFiles
  /** for the end that connects */
  client: TlsPem
}

/**
 * The certificates are valid from an hour before they are made, so that a target whose clock is behind this
 * host's (by up to that) still accepts them; and for a day, longer than any migration's post-copy.
 */
export const TLS_BACKDATE_MS = 60 * 60 * 1000
export const TLS_VALID_MS = 24 * 60 * 60 * 1000

/** Makes the keys in dir (0700): `address` is the listening host's address as the other reaches it. */
export async function makeMigrationTls(dir: string, address: string, now = Date.now()): Promise<MigrationTls> {
  fs.mkdirSync(path.join(dir, 'issued'), {recursive: true, mode: 0o700})
  const f = (name: string) => path.join(dir, name)
  fs.writeFileSync(f('index.txt'), '')
  fs.writeFileSync(f('serial'), '01\n')
  fs.writeFileSync(f('openssl.cnf'), caConfig(dir, address))
  const validity = ['-startdate', asn1Time(now - TLS_BACKDATE_MS), '-enddate', asn1Time(now + TLS_VALID_MS)]
  const ca = (args: string[]) => openssl(['ca', '-batch', '-notext', '-config', f('openssl.cnf'), ...validity, ...args])
  const leaves = ['server', 'client']
  await Promise.all([
    newKeyAndRequest(f('ca.key'), f('ca.csr'), '/CN=ocirt-migrate-ca'),
    ...leaves.map((who) => newKeyAndRequest(f(`${who}.key`), f(`${who}.csr`), `/CN=${address}`)),
  ])
  await ca(['-selfsign', '-keyfile', f('ca.key'), '-in', f('ca.csr'), '-out', f('ca.crt'), '-extensions', 'ca_ext'])
  for (const who of leaves) {
    await ca(['-cert', f('ca.crt'), '-keyfile', f('ca.key'), '-in', f(`${who}.csr`), '-out', f(`${who}.crt`), '-extensions', 'leaf_ext'])
  }
  fs.rmSync(f('ca.key')) // nobody can sign another certificate for this migration
  const read = (n: string) => fs.readFileSync(f(n), 'utf8')
  return {
    server: {ca: read('ca.crt'), cert: read('server.crt'), key: read('server.key')},
    serverFiles: {ca: f('ca.crt'), cert: f('server.crt'), key: f('server.key')},
    client: {ca: read('ca.crt'), cert: read('client.crt'), key: read('client.key')},
  }
}

/** CRIU's arguments for one side. */
export function criuTlsArgs(files: TlsFiles): string[] {
  return ['--tls', '--tls-cacert', files.ca, '--tls-cert', files.cert, '--tls-key', files.key]
}

/** The PEM texts written as files (0600) in dir, named after `who`. */
export function writeTlsFiles(dir: string, who: string, pem: TlsPem): TlsFiles {
  const files = {ca: path.join(dir, `${who}-ca.crt`), cert: path.join(dir, `${who}.crt`), key: path.join(dir, `${who}.key`)}
  fs.writeFileSync(files.ca, pem.ca, {mode: 0o600})
  fs.writeFileSync(files.cert, pem.cert, {mode: 0o600})
  fs.writeFileSync(files.key, pem.key, {mode: 0o600})
  return files
}

/** openssl ca's time format (GeneralizedTime, UTC): YYYYMMDDHHMMSSZ */
export function asn1Time(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z')
}

function caConfig(dir: string, address: string): string {
  const san = `${net.isIP(address) ? 'IP' : 'DNS'}:${address}`
  return [
    '[ca]', 'default_ca = migration',
    '[migration]', `database = ${dir}/index.txt`, `new_certs_dir = ${dir}/issued`, `serial = ${dir}/serial`,
    'default_md = sha256', 'policy = any_name', 'unique_subject = no', 'email_in_dn = no', 'copy_extensions = none',
    '[any_name]', 'commonName = supplied',
    // GnuTLS (CRIU's TLS) only trusts a CA certificate that says it is one
    '[ca_ext]', 'basicConstraints = critical,CA:true', 'keyUsage = critical,keyCertSign,cRLSign',
    '[leaf_ext]', 'basicConstraints = CA:false', 'keyUsage = critical,digitalSignature', `subjectAltName = ${san}`,
    '',
  ].join('\n')
}

function newKeyAndRequest(key: string, csr: string, subject: string): Promise<void> {
  return openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', subject])
}

function openssl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()))
    const failed = (why: string) => reject(new OcirtError(`cannot make the page server's TLS keys: openssl ${args[0]}: ${why}`, {verb: 'migrate', step: 'tls keys'}))
    child.once('error', (err: NodeJS.ErrnoException) => failed(err.code === 'ENOENT' ? 'openssl not found (apt-get install openssl)' : err.message))
    child.once('close', (code, signal) => (code === 0 ? resolve() : failed(stderr.trim().split('\n').pop() || `exit status ${code ?? signal}`)))
  })
}
