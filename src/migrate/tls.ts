// Keys for one migration's memory path: a throwaway CA, and a server and a client certificate that both name the
// listening host's address. Post-copy: CRIU's own TLS (--tls) between the source's page server and the target's
// lazy-pages daemon; stop-copy: the page link (page-link.ts) between the two ocirt processes. Both sides check the
// other against the CA, whose private key lives only in this function, so nothing else can ever join. Made in this
// process (x509.ts): no openssl runs competing with the bundle's stream for the CPUs.
import * as fs from 'node:fs'
import * as path from 'node:path'
import {makeCertificate, newKeyPair} from './x509'

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
  /** the same, as the files in dir (CRIU reads its keys from files); only when asked for */
  serverFiles?: TlsFiles
  /** for the end that connects */
  client: TlsPem
}

/**
 * The certificates are valid from an hour before they are made, so that a target whose clock is behind this
 * host's (by up to that) still accepts them; and for a day, longer than any migration's post-copy.
 */
export const TLS_BACKDATE_MS = 60 * 60 * 1000
export const TLS_VALID_MS = 24 * 60 * 60 * 1000

/**
 * Makes the keys (x509.ts, in this process) and writes the listening end's into dir (0700), where CRIU reads them
 * (post-copy; stop-copy's page link keeps them in memory and sends the listening end's to the target):
 * `address` is the listening host's address as the other reaches it. The CA's private key is never written and is
 * gone when this returns, so nobody can sign another certificate for this migration.
 */
export async function makeMigrationTls(dir: string, address: string, now = Date.now(), o: {serverFiles?: boolean} = {serverFiles: true}): Promise<MigrationTls> {
  const notBefore = new Date(now - TLS_BACKDATE_MS)
  const notAfter = new Date(now + TLS_VALID_MS)
  const caKeys = newKeyPair()
  const ca = makeCertificate({subjectCN: 'ocirt-migrate-ca', publicKey: caKeys.publicKey, privateKey: caKeys.privateKey, notBefore, notAfter, ca: true})
  const leaf = (): TlsPem => {
    const k = newKeyPair()
    const cert = makeCertificate({subjectCN: address, issuer: {cn: 'ocirt-migrate-ca', key: caKeys.privateKey}, publicKey: k.publicKey, privateKey: k.privateKey, notBefore, notAfter, ca: false, altName: address})
    return {ca, cert, key: k.pem}
  }
  const server = leaf()
  const client = leaf()
  if (!o.serverFiles) return {server, client}
  fs.mkdirSync(dir, {recursive: true, mode: 0o700})
  return {server, serverFiles: writeTlsFiles(dir, 'server', server), client}
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
