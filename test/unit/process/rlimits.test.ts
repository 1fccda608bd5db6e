// RLIMITS numbers and toRlimits conversion (u64, infinity, errors).
import {test} from 'node:test'
import * as assert from 'node:assert/strict'
import * as fs from 'node:fs'
import {InvalidInput} from '../../../src/core/errors'
import {RLIM_INFINITY, RLIMITS, rlimitValue, toRlimits} from '../../../src/core/process/rlimits'

test('RLIMIT_CPU=0 … RLIMIT_RTTIME=15, dense', () => {
  assert.equal(Object.keys(RLIMITS).length, 16)
  assert.equal(RLIMITS.RLIMIT_CPU, 0)
  assert.equal(RLIMITS.RLIMIT_NOFILE, 7)
  assert.equal(RLIMITS.RLIMIT_AS, 9)
  assert.equal(RLIMITS.RLIMIT_RTTIME, 15)
  assert.deepEqual(Object.values(RLIMITS).sort((a, b) => a - b), [...Array(16).keys()])
})

test('RLIMITS names match /proc/self/limits rows (same count, same order)', () => {
  const rows = fs.readFileSync('/proc/self/limits', 'utf8').trim().split('\n').slice(1)
  assert.equal(rows.length, 16)
  // /proc prints the limits in resource-number order; spot-check by their labels
  assert.match(rows[RLIMITS.RLIMIT_NOFILE], /^Max open files/)
  assert.match(rows[RLIMITS.RLIMIT_NPROC], /^Max processes/)
  assert.match(rows[RLIMITS.RLIMIT_RTTIME], /^Max realtime timeout/)
})

test('toRlimits keeps order and converts to bigint', () => {
  assert.deepEqual(toRlimits([{type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024}, {type: 'RLIMIT_CORE', hard: 0, soft: 0}]), [
    {resource: 7, soft: 1024n, hard: 1024n},
    {resource: 4, soft: 0n, hard: 0n},
  ])
})

test('RLIM_INFINITY survives JSON: 18446744073709551615 parses to 2^64 and maps back', () => {
  const parsed = JSON.parse('{"type": "RLIMIT_STACK", "soft": 8388608, "hard": 18446744073709551615}')
  assert.deepEqual(toRlimits([parsed]), [{resource: 3, soft: 8388608n, hard: RLIM_INFINITY}])
  assert.equal(RLIM_INFINITY, 18446744073709551615n)
  assert.equal(rlimitValue(-1), undefined)
  assert.equal(rlimitValue(1.5), undefined)
  assert.equal(rlimitValue('5'), undefined)
})

test('toRlimits errors name the entry', () => {
  const ctx = {verb: 'create', id: 'c1'}
  assert.throws(() => toRlimits([{type: 'RLIMIT_FOO', hard: 1, soft: 1}], ctx), (err: unknown) =>
    err instanceof InvalidInput && err.message === 'create c1: process.rlimits[0].type: unknown rlimit "RLIMIT_FOO"')
  assert.throws(() => toRlimits([{type: 'RLIMIT_CORE', hard: 1, soft: 2}], ctx), /process\.rlimits\[0\]: soft limit 2 exceeds hard limit 1$/)
  assert.throws(() => toRlimits([{type: 'RLIMIT_CORE', hard: -1, soft: 0}]), /process\.rlimits\[0\]\.hard: must be a non-negative integer$/)
})
