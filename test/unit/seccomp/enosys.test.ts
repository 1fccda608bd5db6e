// The ENOSYS stub alone (no libseccomp): put in front of a one-instruction "filter" that allows everything, it
// must answer ENOSYS exactly for numbers above each listed architecture's limit and fall through otherwise.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {enosysStub, X32_SYSCALL_BIT} from '../../../src/core/seccomp/enosys'
import {AUDIT_ARCH, RET, runFilter} from '../../helpers/bpf'

const ALLOW_ALL = (() => {
  const b = Buffer.alloc(8)
  b.writeUInt16LE(0x06, 0) // ret #k
  b.writeUInt32LE(RET.ALLOW, 4)
  return b
})()
const ENOSYS = RET.ERRNO | 38
const AUDIT_AARCH64 = 0xc00000b7

function program(...limits: Parameters<typeof enosysStub>[0]): (nr: number, arch: number) => number {
  const bpf = Buffer.concat([enosysStub(limits), ALLOW_ALL])
  return (nr, arch) => runFilter(bpf, {nr, arch})
}

test('one architecture: above its limit ENOSYS, at or below it the filter; other architectures the filter', () => {
  const run = program({audit: AUDIT_ARCH.I386, abi: 'other', max: 100})
  assert.equal(run(101, AUDIT_ARCH.I386), ENOSYS)
  assert.equal(run(100, AUDIT_ARCH.I386), RET.ALLOW)
  assert.equal(run(0, AUDIT_ARCH.I386), RET.ALLOW)
  assert.equal(run(5000, AUDIT_ARCH.X86_64), RET.ALLOW)
})

test('x86_64 and x32 share an AUDIT_ARCH and are told apart by the x32 bit', () => {
  const both = program({audit: AUDIT_ARCH.X86_64, abi: 'x86_64', max: 300}, {audit: AUDIT_ARCH.X86_64, abi: 'x32', max: X32_SYSCALL_BIT | 500})
  assert.equal(both(301, AUDIT_ARCH.X86_64), ENOSYS)
  assert.equal(both(300, AUDIT_ARCH.X86_64), RET.ALLOW)
  assert.equal(both(X32_SYSCALL_BIT | 400, AUDIT_ARCH.X86_64), RET.ALLOW, 'x32 has its own, higher limit')
  assert.equal(both(X32_SYSCALL_BIT | 501, AUDIT_ARCH.X86_64), ENOSYS)
  const x64only = program({audit: AUDIT_ARCH.X86_64, abi: 'x86_64', max: 300})
  assert.equal(x64only(X32_SYSCALL_BIT | 9999, AUDIT_ARCH.X86_64), RET.ALLOW, 'x32 not listed: the filter decides')
  const x32only = program({audit: AUDIT_ARCH.X86_64, abi: 'x32', max: X32_SYSCALL_BIT | 500})
  assert.equal(x32only(9999, AUDIT_ARCH.X86_64), RET.ALLOW, 'x86_64 not listed: the filter decides')
  assert.equal(x32only(X32_SYSCALL_BIT | 501, AUDIT_ARCH.X86_64), ENOSYS)
})

test('three architectures at once; no limits, no stub', () => {
  const run = program(
    {audit: AUDIT_ARCH.X86_64, abi: 'x86_64', max: 450}, {audit: AUDIT_ARCH.I386, abi: 'other', max: 460}, {audit: AUDIT_AARCH64, abi: 'other', max: 440},
  )
  assert.equal(run(451, AUDIT_ARCH.X86_64), ENOSYS)
  assert.equal(run(451, AUDIT_ARCH.I386), RET.ALLOW)
  assert.equal(run(461, AUDIT_ARCH.I386), ENOSYS)
  assert.equal(run(441, AUDIT_AARCH64), ENOSYS)
  assert.equal(run(440, AUDIT_AARCH64), RET.ALLOW)
  assert.equal(enosysStub([]).length, 0)
})
