// known_hosts parsing and matching, checked against files and fingerprints made by OpenSSH's own ssh-keygen.
import {test, before, after} from 'node:test'
import * as assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {
  checkHostKey, fingerprint, formatKnownHostLine, hostsMatch, keyTypeOf, knownKeyTypes, lookupName, parseKnownHosts, wildcardMatch,
} from '../../../src/migrate/ssh/known-hosts'

let dir: string
/** "type base64" of freshly made keys, and the decoded blobs */
const pub: Record<string, string> = {}
const blob: Record<string, Buffer> = {}

function keygen(...args: string[]): string {
  const r = spawnSync('ssh-keygen', args, {encoding: 'utf8'})
  assert.equal(r.status, 0, r.stderr)
  return r.stdout
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-knownhosts-'))
  for (const [name, type] of [['ed1', 'ed25519'], ['ed2', 'ed25519'], ['ec1', 'ecdsa']]) {
    keygen('-q', '-t', type, '-N', '', '-f', path.join(dir, name))
    pub[name] = fs.readFileSync(path.join(dir, `${name}.pub`), 'utf8').trim().split(' ').slice(0, 2).join(' ')
    blob[name] = Buffer.from(pub[name].split(' ')[1], 'base64')
  }
})
after(() => fs.rmSync(dir, {recursive: true, force: true}))

test('lookup names: bare on port 22, [host]:port otherwise, lower case', () => {
  assert.equal(lookupName('Example.ORG', 22), 'example.org')
  assert.equal(lookupName('10.0.0.1', 2222), '[10.0.0.1]:2222')
  assert.equal(lookupName('::1', 2222), '[::1]:2222')
})

test('parse: comments, blank lines, markers, line numbers; malformed lines skipped', () => {
  const text = [
    '# a comment',
    '',
    `host1,host2 ${pub.ed1} a comment with  spaces`,
    `@revoked * ${pub.ed2}`,
    `@cert-authority *.example.org ${pub.ec1}`,
    '@bogus host ssh-ed25519 AAAA',
    'onlytwo fields',
    `mismatch ssh-rsa ${pub.ed1.split(' ')[1]}`, // type field does not match the blob
    `   [10.0.0.1]:2222\t${pub.ec1}   `,
  ].join('\n')
  const lines = parseKnownHosts(text)
  assert.deepEqual(lines.map((l) => [l.line, l.marker, l.hosts, l.keyType]), [
    [3, undefined, 'host1,host2', 'ssh-ed25519'],
    [4, 'revoked', '*', 'ssh-ed25519'],
    [5, 'cert-authority', '*.example.org', 'ecdsa-sha2-nistp256'],
    [9, undefined, '[10.0.0.1]:2222', 'ecdsa-sha2-nistp256'],
  ])
  assert.ok(lines[0].key.equals(blob.ed1))
})

test('patterns: comma lists, wildcards, negation, case', () => {
  assert.ok(hostsMatch('a,b,c', 'b'))
  assert.ok(!hostsMatch('a,b,c', 'd'))
  assert.ok(hostsMatch('*.example.org', 'www.example.org'))
  assert.ok(!hostsMatch('*.example.org', 'example.org'))
  assert.ok(hostsMatch('host?', 'host1'))
  assert.ok(!hostsMatch('host?', 'host12'))
  assert.ok(hostsMatch('10.0.0.*,!10.0.0.5', '10.0.0.4'))
  assert.ok(!hostsMatch('10.0.0.*,!10.0.0.5', '10.0.0.5'))
  assert.ok(!hostsMatch('!10.0.0.5', '10.0.0.4')) // only negations: nothing matched
  assert.ok(hostsMatch('EXAMPLE.org', 'example.org'))
  assert.ok(hostsMatch('[10.0.0.1]:2222', '[10.0.0.1]:2222'))
  assert.ok(!hostsMatch('10.0.0.1', '[10.0.0.1]:2222')) // a bare name is for port 22 only
  assert.ok(wildcardMatch('[a]*', '[a]:22')) // brackets are literal
  assert.ok(!wildcardMatch('a.c', 'abc')) // dots are literal
})

test('hashed entries written by ssh-keygen -H match their host (and port) only', () => {
  const file = path.join(dir, 'hashed')
  fs.writeFileSync(file, `example.org ${pub.ed1}\n[10.0.0.1]:2222 ${pub.ec1}\n`)
  keygen('-q', '-H', '-f', file)
  const lines = parseKnownHosts(fs.readFileSync(file, 'utf8'))
  assert.equal(lines.length, 2)
  assert.ok(lines.every((l) => l.hosts.startsWith('|1|')))
  assert.equal(checkHostKey(lines, 'example.org', 22, blob.ed1).status, 'known')
  assert.equal(checkHostKey(lines, 'EXAMPLE.ORG', 22, blob.ed1).status, 'known')
  assert.equal(checkHostKey(lines, '10.0.0.1', 2222, blob.ec1).status, 'known')
  assert.equal(checkHostKey(lines, '10.0.0.1', 22, blob.ec1).status, 'unknown')
  assert.equal(checkHostKey(lines, 'example.com', 22, blob.ed1).status, 'unknown')
  // ssh-keygen -F finds the same lines we do
  assert.match(keygen('-F', '[10.0.0.1]:2222', '-f', file), /found: line 2/)
})

test('verdicts: known, changed (same type, other key) with its line, other types, revoked, cert-authority ignored', () => {
  const lines = parseKnownHosts([
    `h1 ${pub.ed1}`,
    `h2 ${pub.ec1}`,
    `h2 ${pub.ed1}`,
    `@revoked h3 ${pub.ed2}`,
    `h3 ${pub.ed2}`,
    `@cert-authority h4 ${pub.ed1}`,
  ].join('\n'))
  assert.equal(checkHostKey(lines, 'h1', 22, blob.ed1).status, 'known')
  const changed = checkHostKey(lines, 'h1', 22, blob.ed2)
  assert.equal(changed.status, 'changed')
  assert.equal(changed.status === 'changed' && changed.line.line, 1)
  assert.equal(checkHostKey(lines, 'h2', 22, blob.ed1).status, 'known') // any matching line with the same key
  assert.equal(checkHostKey(lines, 'h1', 22, blob.ec1).status, 'other-types')
  assert.equal(checkHostKey(lines, 'h3', 22, blob.ed2).status, 'revoked') // revoked wins over a plain line
  assert.equal(checkHostKey(lines, 'h4', 22, blob.ed1).status, 'unknown')
  assert.equal(checkHostKey([], 'h1', 22, blob.ed1).status, 'unknown')
  assert.deepEqual(knownKeyTypes(lines, 'h2', 22), ['ecdsa-sha2-nistp256', 'ssh-ed25519'])
})

test('fingerprints agree with ssh-keygen -l', () => {
  for (const name of ['ed1', 'ec1']) {
    const out = keygen('-l', '-E', 'sha256', '-f', path.join(dir, `${name}.pub`))
    assert.equal(fingerprint(blob[name]), out.split(' ')[1])
  }
  assert.equal(keyTypeOf(blob.ed1), 'ssh-ed25519')
  assert.equal(keyTypeOf(Buffer.from([0, 0, 0])), undefined)
})

test('a recorded line is found again, also by ssh-keygen -F', () => {
  const line = formatKnownHostLine('10.1.2.3', 40022, blob.ed1)
  assert.equal(line, `[10.1.2.3]:40022 ${pub.ed1}`)
  assert.equal(checkHostKey(parseKnownHosts(line), '10.1.2.3', 40022, blob.ed1).status, 'known')
  const file = path.join(dir, 'recorded')
  fs.writeFileSync(file, line + '\n' + formatKnownHostLine('plain.example', 22, blob.ec1) + '\n')
  assert.match(keygen('-F', '[10.1.2.3]:40022', '-f', file), /found: line 1/)
  assert.match(keygen('-F', 'plain.example', '-f', file), /found: line 2/)
})
