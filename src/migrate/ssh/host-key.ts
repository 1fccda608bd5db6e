// Host key verification for one connection: read known_hosts once, judge the key ssh2 hands to hostVerifier,
// and (with acceptNewHostKey) record an unknown key once the key exchange has proved the server holds it.
import * as fs from 'node:fs'
import * as path from 'node:path'
import {HostKeyChanged, HostKeyRevoked, HostKeyTypeChanged, HostKeyUnknown, SshError} from './errors'
import {checkHostKey, fingerprint, formatKnownHostLine, keyTypeOf, knownKeyTypes, parseKnownHosts, type KnownHostLine} from './known-hosts'
import type {SshTarget} from './types'

export interface HostKeyCheck {
  /** ssh2 hostVerifier: true to go on; on false, error() says why */
  verify(key: Buffer): boolean
  /** the refusal, once verify() returned false */
  error(): SshError | undefined
  /** after the handshake: append the accepted new key, if there is one */
  recordAccepted(): void
  /** host key algorithms to offer first: the types already known for this host (OpenSSH does the same) */
  preferredAlgorithms(): string[]
}

export function hostKeyCheck(target: SshTarget, file: string, acceptNew: boolean): HostKeyCheck {
  const lines = readKnownHosts(file)
  let refusal: SshError | undefined
  let toRecord: Buffer | undefined
  return {
    verify(key) {
      const type = keyTypeOf(key) ?? 'unknown'
      const fp = fingerprint(key)
      const v = checkHostKey(lines, target.host, target.port, key)
      switch (v.status) {
        case 'known':
          return true
        case 'revoked':
          refusal = new HostKeyRevoked(target, type, fp, file, v.line.line)
          return false
        case 'changed':
          refusal = new HostKeyChanged(target, type, fp, fingerprint(v.line.key), file, v.line.line)
          return false
        case 'other-types':
          refusal = new HostKeyTypeChanged(target, type, fp, [...new Set(v.lines.map((l) => l.keyType))], file, v.lines.map((l) => l.line))
          return false
        case 'unknown':
          if (!acceptNew) {
            refusal = new HostKeyUnknown(target, type, fp, file)
            return false
          }
          toRecord = key
          return true
      }
    },
    error: () => refusal,
    recordAccepted() {
      if (!toRecord) return
      appendKnownHost(file, formatKnownHostLine(target.host, target.port, toRecord))
      toRecord = undefined
    },
    preferredAlgorithms() {
      return knownKeyTypes(lines, target.host, target.port).flatMap((t) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]))
    },
  }
}

function readKnownHosts(file: string): KnownHostLine[] {
  try {
    return parseKnownHosts(fs.readFileSync(file, 'utf8'))
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw e
  }
}

/** Append one line, creating the directory (0700) and file (0600) as ssh does, and a missing final newline first. */
function appendKnownHost(file: string, line: string): void {
  fs.mkdirSync(path.dirname(file), {recursive: true, mode: 0o700})
  let prefix = ''
  try {
    const st = fs.statSync(file)
    if (st.size > 0) {
      const fd = fs.openSync(file, 'r')
      const last = Buffer.alloc(1)
      fs.readSync(fd, last, 0, 1, st.size - 1)
      fs.closeSync(fd)
      if (last[0] !== 0x0a) prefix = '\n'
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
  }
  fs.appendFileSync(file, `${prefix}${line}\n`, {mode: 0o600})
}
