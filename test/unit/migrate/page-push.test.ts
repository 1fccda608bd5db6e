// Stop-copy's page server plan (page-push.ts): what happens when the target cannot run one. `auto` falls back to the
// SSH stream with a note that says why, `tls` stops before the freeze, `ssh` never asks.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {planPagePush, type PagePushInput} from '../../../src/migrate/page-push'
import type {AgentClient} from '../../../src/migrate/agent/client'

function input(t: {after: (fn: () => void) => void}, transport: PagePushInput['transport'], answer: (op: string) => Promise<unknown>, asked: string[]): PagePushInput {
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-page-push-'))
  t.after(() => fs.rmSync(staging, {recursive: true, force: true}))
  const agent = {request: (op: string) => (asked.push(op), answer(op))} as unknown as AgentClient
  return {transport, agent, host: '127.0.0.1', staging, notes: [], ctx: {verb: 'migrate', id: 'c1'}}
}

const oldAgent = async (op: string) => {
  throw new Error(`unknown request {"id":3,"op":"${op}"}`)
}

test('ssh: the page server is never asked for', async (t) => {
  const asked: string[] = []
  assert.equal(await planPagePush(input(t, 'ssh', oldAgent, asked)), undefined)
  assert.deepEqual(asked, [])
})

test('auto with a target whose ocirt has no page server: the SSH stream, and the note says why', async (t) => {
  const asked: string[] = []
  const i = input(t, 'auto', oldAgent, asked)
  assert.equal(await planPagePush(i), undefined)
  assert.deepEqual(asked, ['start-page-server'])
  assert.match(i.notes.join('\n'), /pages through the SSH connection after the dump: the target's ocirt has no page server for stop-copy/)
})

test('tls with a target that cannot start one: one error before the freeze, naming the cause', async (t) => {
  const i = input(t, 'tls', async () => {
    throw new Error('cannot start criu page-server on 127.0.0.1: criu page-server exited (1) before listening')
  }, [])
  await assert.rejects(planPagePush(i), (err: Error & {step?: string}) => {
    assert.match(err.message, /--page-transport tls: cannot start criu page-server on 127\.0\.0\.1/)
    return true
  })
})
