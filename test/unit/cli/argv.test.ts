import {test} from 'node:test'
import assert from 'node:assert/strict'
import {missingRequired, parseArgv, splitGlobal, UsageError} from '../../../src/commands/_verbs/argv'
import {GLOBAL_FLAGS} from '../../../src/commands/_verbs/global-flags'
import type {FlagSpec} from '../../../src/commands/_verbs/types'

const RESTORE: Record<string, FlagSpec> = {
  'image-path': {type: 'string', description: ''},
  detach: {type: 'boolean', char: 'd', description: ''},
  'no-subreaper': {type: 'boolean', description: ''},
  'leave-running': {type: 'boolean', description: ''},
  bundle: {type: 'string', char: 'b', description: ''},
  env: {type: 'string', multiple: true, description: ''},
  'preserve-fds': {type: 'integer', default: 0, description: ''},
}

test('global flags before the verb are split off, with values in both forms', () => {
  const r = splitGlobal(['--root', '/r', '--log=/l', '--log-format', 'json', '--debug', 'create', '--bundle', 'b', 'id'], GLOBAL_FLAGS)
  assert.deepEqual(r.global, ['--root', '/r', '--log=/l', '--log-format', 'json', '--debug'])
  assert.equal(r.verb, 'create')
  assert.deepEqual(r.rest, ['--bundle', 'b', 'id'])
})

test("containerd's single-dash long flag and repeated booleans parse like Go's flag package", () => {
  const p = parseArgv(['--image-path', '/img', '--detach', '-no-subreaper', '--leave-running', '--leave-running', '--bundle', '/b', 'ctr1'], RESTORE)
  assert.equal(p.flags['image-path'], '/img')
  assert.equal(p.flags['no-subreaper'], true)
  assert.equal(p.flags['leave-running'], true)
  assert.equal(p.flags.detach, true)
  assert.deepEqual(p.positionals, ['ctr1'])
})

test('--flag=value, short chars, integers, defaults and multiple values', () => {
  const p = parseArgv(['-b=/x', '-d', '--env', 'A=1', '--env=B=2', '--preserve-fds=2', 'id'], RESTORE)
  assert.equal(p.flags.bundle, '/x')
  assert.deepEqual(p.flags.env, ['A=1', 'B=2'])
  assert.equal(p.flags['preserve-fds'], 2)
  assert.equal(parseArgv(['id'], RESTORE).flags['preserve-fds'], 0)
})

test('stopAtPositional leaves the command line of exec alone', () => {
  const p = parseArgv(['-d', 'ctr', 'sh', '-c', 'echo --bundle'], RESTORE, {stopAtPositional: true})
  assert.deepEqual(p.positionals, ['ctr', 'sh', '-c', 'echo --bundle'])
  assert.equal(p.flags.detach, true)
})

test('unknown flags and bad values are usage errors with runc-like text', () => {
  assert.throws(() => parseArgv(['--nope', 'x'], RESTORE), (e: Error) => e instanceof UsageError && /flag provided but not defined: --nope/.test(e.message))
  assert.throws(() => parseArgv(['--preserve-fds', 'x'], RESTORE), /not an integer/)
  assert.throws(() => parseArgv(['--bundle'], RESTORE), /flag needs an argument: --bundle/)
  assert.throws(() => parseArgv(['--log-format', 'xml'], GLOBAL_FLAGS), /expected one of text, json/)
})

test('-- ends flag parsing', () => {
  assert.deepEqual(parseArgv(['--', '-d'], RESTORE).positionals, ['-d'])
})

test('min and required: a usage error naming the flag', () => {
  const table: Record<string, FlagSpec> = {to: {type: 'string', description: '', required: true}, rounds: {type: 'integer', description: '', min: 1}}
  assert.throws(() => parseArgv(['--rounds', '0'], table), (e: Error) => e instanceof UsageError && /--rounds: expected at least 1/.test(e.message))
  assert.equal(parseArgv(['--rounds', '1'], table).flags.rounds, 1)
  assert.match(missingRequired(parseArgv(['--rounds', '2'], table).flags, table)!.message, /Required flag "to" not set/)
  assert.equal(missingRequired(parseArgv(['--to', 'h'], table).flags, table), undefined)
})

test('strict (verbs oclif also serves): what runc accepts and oclif does not is refused, for oclif to decide', () => {
  const table: Record<string, FlagSpec> = {
    to: {type: 'string', description: ''}, 'remote-root': {type: 'string', description: ''}, 'dry-run': {type: 'boolean', description: ''},
    identity: {type: 'string', char: 'i', description: '', multiple: true}, quiet: {type: 'boolean', char: 'q', description: ''},
  }
  const refused = [['--remote-root', '--dry-run'], ['--to', 'a', '--to', 'b'], ['-to', 'h'], ['--dry-run=false'], ['-q=true'], ['-dry-run']]
  for (const argv of refused) {
    assert.doesNotThrow(() => parseArgv(argv, table), `runc's habits accept ${argv.join(' ')}`)
    assert.throws(() => parseArgv(argv, table, {strict: true}), UsageError, `strict refuses ${argv.join(' ')}`)
  }
  const fine = parseArgv(['--to', 'h', '-i', 'a', '--identity=b', '-q', '--dry-run', 'id'], table, {strict: true})
  assert.deepEqual(fine, {flags: {to: 'h', identity: ['a', 'b'], quiet: true, 'dry-run': true}, positionals: ['id']})
})
