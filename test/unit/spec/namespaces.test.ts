// NAMESPACES: clone flags and /proc names against the running kernel.
import {test} from 'node:test'
import * as assert from 'node:assert/strict'
import * as fs from 'node:fs'
import {cloneFlagsFor, isNamespaceType, NAMESPACES, namespaceTypes, nsFileName} from '../../../src/core/namespaces'

test('every OCI namespace type, with its CLONE_NEW* flag', () => {
  assert.deepEqual(namespaceTypes(), ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts'])
  assert.equal(NAMESPACES.mount.flag, 0x00020000)
  assert.equal(NAMESPACES.network.flag, 0x40000000)
  assert.equal(NAMESPACES.time.flag, 0x80)
  const flags = Object.values(NAMESPACES).map((n) => n.flag)
  assert.equal(new Set(flags).size, flags.length)
  for (const f of flags) assert.equal(f & (f - 1), 0, 'one bit each')
})

test('each /proc name exists under /proc/self/ns on this kernel', () => {
  const have = new Set(fs.readdirSync('/proc/self/ns'))
  for (const t of namespaceTypes()) assert.ok(have.has(nsFileName(t)), t)
  assert.equal(nsFileName('network'), 'net')
  assert.equal(nsFileName('mount'), 'mnt')
})

test('cloneFlagsFor ORs known types and skips unknown ones', () => {
  assert.equal(cloneFlagsFor([]), 0)
  assert.equal(cloneFlagsFor(['pid', 'network', 'ipc', 'uts', 'mount']), 0x20000000 | 0x40000000 | 0x08000000 | 0x04000000 | 0x00020000)
  assert.equal(cloneFlagsFor(['user', 'foo', 'constructor']), 0x10000000)
  assert.ok(cloneFlagsFor(namespaceTypes()) > 0, 'all flags together stay a positive 31-bit number')
  assert.equal(isNamespaceType('toString'), false)
})
