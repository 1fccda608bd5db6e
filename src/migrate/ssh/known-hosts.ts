// known_hosts in OpenSSH's format, parsed and matched here because ssh2 only offers a hostVerifier callback.
//
//   [@revoked|@cert-authority] PATTERNS KEYTYPE BASE64KEY [COMMENT]
//
// PATTERNS is a comma list of host names (`host`, `[host]:port` for a port other than 22, `*`/`?` wildcards,
// `!pattern` negations) or one hashed name `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`. A host is looked
// up by the name OpenSSH would use: `host` on port 22, `[host]:port` otherwise.
import {createHash, createHmac} from 'node:crypto'

export type Marker = 'revoked' | 'cert-authority' | undefined

export interface KnownHostLine {
  /** 1-based line number in the file */
  line: number
  marker: Marker
  /** the host field as written (a comma list or one hashed name) */
  hosts: string
  keyType: string
  /** the key blob (SSH wire format), decoded from base64 */
  key: Buffer
}

/** Every key line of a known_hosts text; comments, blank and malformed lines are skipped (as OpenSSH does). */
export function parseKnownHosts(text: string): KnownHostLine[] {
  const out: KnownHostLine[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim()
    if (raw === '' || raw.startsWith('#')) continue
    const fields = raw.split(/[ \t]+/)
    let marker: Marker
    if (fields[0].startsWith('@')) {
      const m = fields.shift()!.slice(1)
      if (m !== 'revoked' && m !== 'cert-authority') continue
      marker = m
    }
    if (fields.length < 3) continue
    const [hosts, keyType, b64] = fields
    const key = Buffer.from(b64, 'base64')
    if (key.length === 0 || keyTypeOf(key) !== keyType) continue
    out.push({line: i + 1, marker, hosts, keyType, key})
  }
  return out
}

/** The name a host is looked up by: `host` for port 22, `[host]:port` otherwise (lower case). */
export function lookupName(host: string, port: number): string {
  const h = host.toLowerCase()
  return port === 22 ? h : `[${h}]:${port}`
}

/** Does a host field (comma list or hashed name) match NAME (from lookupName)? A negated match wins. */
export function hostsMatch(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) return hashedMatch(hosts, name)
  let matched = false
  for (const raw of hosts.split(',')) {
    const negated = raw.startsWith('!')
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase()
    if (!wildcardMatch(pattern, name)) continue
    if (negated) return false
    matched = true
  }
  return matched
}

/** `|1|salt|hash`: HMAC-SHA1 keyed with the salt over the name. */
export function hashedMatch(entry: string, name: string): boolean {
  const parts = entry.split('|')
  if (parts.length !== 4 || parts[1] !== '1') return false
  const salt = Buffer.from(parts[2], 'base64')
  const want = Buffer.from(parts[3], 'base64')
  const got = createHmac('sha1', salt).update(name).digest()
  return want.length === got.length && want.equals(got)
}

/** OpenSSH's pattern match: `*` any run of characters, `?` one character, everything else literal. */
export function wildcardMatch(pattern: string, s: string): boolean {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 's')
  return re.test(s)
}

/** The key type written at the start of an SSH key blob (e.g. ssh-ed25519), or undefined if malformed. */
export function keyTypeOf(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined
  const n = blob.readUInt32BE(0)
  if (n === 0 || n > 64 || 4 + n > blob.length) return undefined
  return blob.toString('latin1', 4, 4 + n)
}

/** OpenSSH's fingerprint: `SHA256:` + base64 of the SHA-256 of the blob, without padding. */
export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')
}

export type HostKeyVerdict =
  | {status: 'known'; line: KnownHostLine}
  | {status: 'revoked'; line: KnownHostLine}
  /** a key of the same type is recorded for this host and it is a different key */
  | {status: 'changed'; line: KnownHostLine}
  /** no key of this type is recorded, but keys of other types are: a server should not lose its known key */
  | {status: 'other-types'; lines: KnownHostLine[]}
  | {status: 'unknown'}

/** Check a presented host key against parsed known_hosts lines, as OpenSSH does (@cert-authority lines are ignored). */
export function checkHostKey(lines: KnownHostLine[], host: string, port: number, key: Buffer): HostKeyVerdict {
  const name = lookupName(host, port)
  const type = keyTypeOf(key)
  const forHost = lines.filter((l) => l.marker !== 'cert-authority' && hostsMatch(l.hosts, name))
  const revoked = forHost.find((l) => l.marker === 'revoked' && l.key.equals(key))
  if (revoked) return {status: 'revoked', line: revoked}
  const plain = forHost.filter((l) => l.marker === undefined)
  const same = plain.find((l) => l.key.equals(key))
  if (same) return {status: 'known', line: same}
  const sameType = plain.find((l) => l.keyType === type)
  if (sameType) return {status: 'changed', line: sameType}
  if (plain.length > 0) return {status: 'other-types', lines: plain}
  return {status: 'unknown'}
}

/** Key types recorded for this host, in file order, for putting them first in the host key algorithm offer. */
export function knownKeyTypes(lines: KnownHostLine[], host: string, port: number): string[] {
  const name = lookupName(host, port)
  const types = lines.filter((l) => l.marker === undefined && hostsMatch(l.hosts, name)).map((l) => l.keyType)
  return [...new Set(types)]
}

/** The line we append for a newly accepted key: `[host]:port type base64` (plain `host` on port 22). */
export function formatKnownHostLine(host: string, port: number, key: Buffer): string {
  return `${lookupName(host, port)} ${keyTypeOf(key)} ${key.toString('base64')}`
}
