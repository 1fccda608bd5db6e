// A migration's unpackers (`ocirt migrate-agent --unpack DIR --session STAGING`) register in the staging directory,
// and a rollback kills the registered ones before it removes what they unpack into. The rollback marks the staging
// directory first, and an unpacker looks for the mark after it registered: one that starts while the rollback runs
// unpacks nothing, where it used to write the target's bundle directory back after the rollback had removed it.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {spawn} from 'node:child_process'
import {OCIRT_BIN} from '../helpers/paths'
import {waitFor} from '../helpers/containers'
import {stopUnpackers} from '../../src/migrate/agent/unpack'

function tmp(t: {after(fn: () => void): void}): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-unpack-rb-'))
  t.after(() => fs.rmSync(d, {recursive: true, force: true}))
  return d
}

function unpacker(t: {after(fn: () => void): void}, root: string, into: string, staging: string) {
  const child = spawn(OCIRT_BIN, ['--root', root, 'migrate-agent', '--unpack', into, '--session', staging], {stdio: ['pipe', 'pipe', 'pipe']})
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  let stderr = ''
  child.stderr!.on('data', (b: Buffer) => (stderr += b))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {child, exited, stderr: () => stderr}
}

test('a rollback kills the registered unpacker and leaves its mark; an unpacker started after it unpacks nothing', async (t) => {
  const dir = tmp(t)
  const staging = path.join(dir, 'staging')
  fs.mkdirSync(staging)
  const first = unpacker(t, path.join(dir, 'root'), path.join(dir, 'into-1'), staging)
  const registration = path.join(staging, `unpacker-${first.child.pid}`)
  await waitFor('the unpacker to register', () => fs.existsSync(registration), 20_000)
  await stopUnpackers(staging)
  assert.notEqual(await first.exited, 0, 'killed')
  assert.equal(first.child.signalCode, 'SIGKILL')
  assert.ok(fs.existsSync(path.join(staging, 'rolled-back')), 'the staging directory carries the mark')

  const late = unpacker(t, path.join(dir, 'root'), path.join(dir, 'into-2'), staging)
  late.child.stdin!.end()
  assert.equal(await late.exited, 1)
  assert.match(late.stderr(), /being rolled back: not unpacking into/)
  assert.equal(fs.existsSync(path.join(dir, 'into-2')), false, 'its directory was not made')
  assert.equal(fs.existsSync(path.join(staging, `unpacker-${late.child.pid}`)), false, 'its registration is gone (the killed one stays for the rollback to remove with the directory)')
})
