// quoteArgv against real shells: whatever argv we quote, `sh -c LINE` must hand the program exactly argv back.
import {test} from 'node:test'
import * as assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import {quoteArgv, quoteWord, withEnv} from '../../../src/migrate/ssh/quote'

const SHELLS = ['/bin/sh', '/bin/bash', '/bin/dash'].filter((s) => fs.existsSync(s))

/** argv as the shell hands it to printf '%s\0' (what the remote does with our exec line). */
function roundTrip(shell: string, words: string[]): string[] {
  const r = spawnSync(shell, ['-c', quoteArgv(['printf', '%s\\0', ...words])], {encoding: 'utf8'})
  assert.equal(r.status, 0, r.stderr)
  return r.stdout.split('\0').slice(0, -1)
}

const AWKWARD = [
  'plain', 'two words', '', "it's", '"double"', '$HOME', '${x:-y}', '`id`', '$(id)', 'a\nb', '\ttab', '*', '?', '[a]',
  '~', '~root', 'a;b', 'a&&b', 'a|b', '>out', '<in', '#comment', '!', '\\', "'", "''", '\'"\'"', 'ü', '-n', '--', '=x',
  'x=y', ' leading', 'trailing ', '\r', '{a,b}', '%1',
]

for (const shell of SHELLS) {
  test(`awkward words round-trip through ${shell} unchanged`, () => {
    assert.deepEqual(roundTrip(shell, AWKWARD), AWKWARD)
  })
}

test('safe words stay bare, everything else is single-quoted', () => {
  assert.equal(quoteWord('/usr/bin/ocirt'), '/usr/bin/ocirt')
  assert.equal(quoteWord('--root=/x'), "'--root=/x'")
  assert.equal(quoteWord('a b'), "'a b'")
  assert.equal(quoteWord(''), "''")
  assert.equal(quoteWord("it's"), `'it'\\''s'`)
})

test('the first word is always a command: reserved words and assignments are quoted', () => {
  for (const first of ['if', 'for', 'FOO=bar', '!', '{']) {
    const r = spawnSync('/bin/sh', ['-c', quoteArgv([first])], {encoding: 'utf8'})
    assert.equal(r.status, 127, `${first}: ${r.stderr}`) // "not found", not a syntax error (2) nor success
  }
})

test('a NUL byte and an empty argv are refused', () => {
  assert.throws(() => quoteArgv(['a\0b']), /NUL/)
  assert.throws(() => quoteArgv([]), /empty command/)
})

test('withEnv passes variables through env(1) and refuses bad names', () => {
  assert.deepEqual(withEnv(['x'], undefined), ['x'])
  assert.deepEqual(withEnv(['x', 'y'], {A: '1 2', B_: '$x'}), ['env', 'A=1 2', 'B_=$x', 'x', 'y'])
  const r = spawnSync('/bin/sh', ['-c', quoteArgv(withEnv(['sh', '-c', 'printf %s "$A|$B"'], {A: "it's $x", B: 'a\nb'}))], {encoding: 'utf8'})
  assert.equal(r.stdout, "it's $x|a\nb")
  assert.throws(() => withEnv(['x'], {'A B': '1'}), /invalid environment variable name/)
  assert.throws(() => withEnv(['x'], {'1A': '1'}), /invalid environment variable name/)
})
