// SIGNALS against Node's own table and parseSignal against what runc 1.1.5 was seen to accept.
import {test} from 'node:test'
import * as assert from 'node:assert/strict'
import * as os from 'node:os'
import {InvalidInput} from '../../src/core/errors'
import {parseSignal, signalName, SIGNALS, SIGRTMAX, SIGRTMIN} from '../../src/core/signals'

test('SIGNALS agrees with os.constants.signals for every name it has', () => {
  const node = os.constants.signals as Record<string, number>
  assert.equal(Object.keys(SIGNALS).length, 31)
  for (const [name, n] of Object.entries(SIGNALS)) assert.equal(n, node[name], name)
  assert.deepEqual(Object.values(SIGNALS).sort((a, b) => a - b), Array.from({length: 31}, (_, i) => i + 1))
})

test('names in any case, with or without SIG', () => {
  for (const s of ['KILL', 'kill', 'SIGKILL', 'sigkill', 'Sigkill', 'kIlL']) assert.equal(parseSignal(s), 9, s)
  assert.equal(parseSignal('TERM'), 15)
  assert.equal(parseSignal('hup'), 1)
  assert.equal(parseSignal('SIGSTKFLT'), 16)
  assert.equal(parseSignal('pwr'), 30)
  assert.equal(parseSignal('SYS'), 31)
})

test('numbers: any int64, as runc passes them on to kill(2)', () => {
  assert.equal(parseSignal('9'), 9)
  assert.equal(parseSignal('+9'), 9)
  assert.equal(parseSignal('0'), 0)
  assert.equal(parseSignal('34'), 34)
  assert.equal(parseSignal('99'), 99)
  assert.equal(parseSignal('-1'), -1)
  assert.equal(parseSignal('9223372036854775807'), 9223372036854775807)
})

test('an empty signal is runc kill\'s default, SIGTERM', () => {
  assert.equal(parseSignal(''), 15)
})

test('everything runc 1.1.5 refused is an unknown signal with runc\'s text', () => {
  const refused = ['RTMIN', 'SIGRTMIN+3', 'RTMIN+3', 'IOT', 'SIGIOT', 'CLD', 'POLL', 'SIGUNUSED', 'FOO', ' 9', '9x', '0x9',
    'sig', 'SIG', 'SIGSIGKILL', '99999999999999999999', 'SIGKILL ', 'constructor']
  for (const s of refused) {
    assert.throws(() => parseSignal(s), (err: unknown) => {
      assert.ok(err instanceof InvalidInput, s)
      assert.equal((err as Error).message, `unknown signal ${JSON.stringify(s)}`)
      return true
    })
  }
  assert.throws(() => parseSignal('FOO', {verb: 'kill', id: 'c1'}), {message: 'kill c1: unknown signal "FOO"'})
})

test('signalName', () => {
  assert.equal(signalName(9), 'SIGKILL')
  assert.equal(signalName(SIGRTMIN), 'SIGRTMIN')
  assert.equal(signalName(37), 'SIGRTMIN+3')
  assert.equal(signalName(SIGRTMAX), 'SIGRTMAX')
  assert.equal(signalName(60), 'SIGRTMAX-4')
  assert.equal(signalName(99), '99')
})
