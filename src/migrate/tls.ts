// Keys for one migration's page server over TLS (CRIU's --tls): a throwaway CA, a server certificate for the
// source's address and a client certificate for the target's lazy-pages daemon. Both sides check the other against
// the CA, whose key is deleted as soon as the two certificates are signed, so nothing else can ever join.
// Made with the openssl command (Node can make keys but not X.509 certificates).
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import {OcirtError} from '../core/errors'

export interface TlsFiles {
  ca: string
  cert: string
  key: string
}

export interface MigrationTls {
  /** for the source's page server (criu dump) */
  server: TlsFiles
  /** PEM texts for the target's lazy-pages daemon, sent over the SSH channel */
  client: {ca: string; cert: string; key: string}
}

/** Makes the keys in dir (0700): `address` is the source's address as the target reaches it. */
export function makeMigrationTls(dir: string, address: string): MigrationTls {
  fs.mkdirSync(dir, {recursive: true, mode: 0o700})
  const f = (name: string) => path.join(dir, name)
  const san = `subjectAltName=${net.isIP(address) ? 'IP' : 'DNS'}:${address}`
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '1', '-subj', '/CN=ocirt-migrate-ca'])
  for (const who of ['server', 'client']) {
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f(`${who}.key`), '-out', f(`${who}.csr`), '-subj', `/CN=${address}`])
    fs.writeFileSync(f('ext'), `${san}\n`)
    openssl(['x509', '-req', '-in', f(`${who}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${who}.crt`), '-days', '1', '-extfile', f('ext')])
  }
  fs.rmSync(f('ca.key')) // nobody can sign another certificate for this migration
  const read = (n: string) => fs.readFileSync(f(n), 'utf8')
  return {
    server: {ca: f('ca.crt'), cert: f('server.crt'), key: f('server.key')},
    client: {ca: read('ca.crt'), cert: read('client.crt'), key: read('client.key')},
  }
}

/** CRIU's arguments for one side. */
export function criuTlsArgs(files: TlsFiles): string[] {
  return ['--tls', '--tls-cacert', files.ca, '--tls-cert', files.cert, '--tls-key', files.key]
}

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
  if (r.status !== 0) {
    const why = r.error ? ((r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'openssl not found (apt-get install openssl)' : r.error.message) : r.stderr.trim().split('\n').pop()
    throw new OcirtError(`cannot make the page server's TLS keys: ${why}`, {verb: 'migrate', step: 'tls keys'})
  }
}
