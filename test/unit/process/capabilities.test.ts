// CAPS against the kernel header and the running kernel; capMask bits and errors.
import {test} from 'node:test'
import * as assert from 'node:assert/strict'
import * as fs from 'node:fs'
import {InvalidInput} from '../../../src/core/errors'
import {CAP_MAX, CAPS, capMask, capNames, capsOf, isCapability, lastCap} from '../../../src/core/process/capabilities'

const HEADER = '/usr/include/linux/capability.h'

test('41 capabilities, CAP_CHOWN=0 … CAP_CHECKPOINT_RESTORE=40, numbers unique and dense', () => {
  assert.equal(Object.keys(CAPS).length, 41)
  assert.equal(CAPS.CAP_CHOWN, 0)
  assert.equal(CAPS.CAP_CHECKPOINT_RESTORE, 40)
  assert.equal(CAP_MAX, 40)
  assert.deepEqual(Object.values(CAPS).sort((a, b) => a - b), [...Array(41).keys()])
})

test('CAPS matches <linux/capability.h>', {skip: !fs.existsSync(HEADER) && `${HEADER} is absent`}, () => {
  const fromHeader: Record<string, number> = {}
  for (const m of fs.readFileSync(HEADER, 'utf8').matchAll(/^#define\s+(CAP_[A-Z_]+)\s+(\d+)\s*$/gm)) fromHeader[m[1]] = Number(m[2])
  delete fromHeader.CAP_LAST_CAP
  assert.deepEqual({...CAPS}, fromHeader)
})

test('lastCap reads the running kernel', () => {
  const expected = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'))
  assert.equal(lastCap(), expected)
  assert.ok(lastCap() <= CAP_MAX, 'the kernel knows a capability the table does not')
})

test('capMask sets the bits of the named capabilities', () => {
  assert.equal(capMask([]), 0n)
  assert.equal(capMask(['CAP_CHOWN']), 1n)
  assert.equal(capMask(['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']), (1n << 29n) | (1n << 5n) | (1n << 10n))
  assert.equal(capMask(['CAP_KILL', 'CAP_KILL']), 1n << 5n)
  assert.equal(capMask(capNames()), (1n << BigInt(lastCap() + 1)) - 1n)
  assert.deepEqual(capsOf(capMask(['CAP_SYS_ADMIN', 'CAP_CHOWN'])), ['CAP_CHOWN', 'CAP_SYS_ADMIN'])
})

test('capMask: an unknown name is an InvalidInput naming path, index and name', () => {
  assert.throws(() => capMask(['CAP_KILL', 'CAP_FOO'], 'process.capabilities.bounding', {verb: 'create', id: 'c1'}), (err: unknown) => {
    assert.ok(err instanceof InvalidInput)
    assert.equal((err as Error).message, 'create c1: process.capabilities.bounding[1]: unknown capability "CAP_FOO"')
    return true
  })
  assert.throws(() => capMask(['cap_kill']), /capabilities\[0\]: unknown capability "cap_kill"/)
})

test('capNames is in numeric order; isCapability ignores prototype keys', () => {
  assert.equal(capNames()[0], 'CAP_CHOWN')
  assert.equal(capNames()[40], 'CAP_CHECKPOINT_RESTORE')
  assert.equal(isCapability('constructor'), false)
  assert.equal(isCapability('toString'), false)
})
