// The script CRIU runs for restore hooks: it must pass every action but setup-namespaces, and for that one
// report the init's pid and exit 0 only on "ok". Run with /bin/sh against real fifos.
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {spawnSync} from 'node:child_process'
import {actionScript} from '../../../src/core/criu/action-script'

describe('criu action script', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-action-'))
  const run = (action: string, answer: string) => {
    const req = path.join(dir, "it's.req") // a quote in the path must survive
    const ack = path.join(dir, 'ack')
    fs.writeFileSync(ack, answer)
    fs.rmSync(req, {force: true})
    const script = path.join(dir, 'a.sh')
    fs.writeFileSync(script, actionScript(req, ack), {mode: 0o700})
    const r = spawnSync(script, [], {env: {PATH: process.env.PATH, CRTOOLS_SCRIPT_ACTION: action, CRTOOLS_INIT_PID: '4242'}})
    return {code: r.status, req: fs.existsSync(req) ? fs.readFileSync(req, 'utf8') : undefined}
  }

  it('passes other actions without a word', () => {
    assert.deepEqual(run('post-restore', 'fail\n'), {code: 0, req: undefined})
  })

  it('reports setup-namespaces with the pid and follows the answer', () => {
    assert.deepEqual(run('setup-namespaces', 'ok\n'), {code: 0, req: 'setup-namespaces 4242\n'})
    assert.deepEqual(run('setup-namespaces', 'fail\n'), {code: 1, req: 'setup-namespaces 4242\n'})
    fs.rmSync(dir, {recursive: true, force: true})
  })
})
