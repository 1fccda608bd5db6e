// Post-copy's page path (page-server.ts): the page link when the target's agent can connect to this host with the
// migration's keys, else the SSH tunnel with a note that says why (`auto`), or one error before the freeze (`tls`).
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type {TLSSocket} from 'node:tls'
import {planPageServer, type PageServerInput} from '../../../src/migrate/page-server'
import {connectPageLink} from '../../../src/migrate/page-link'
import type {AgentClient} from '../../../src/migrate/agent/client'
import type {SshSession} from '../../../src/migrate/ssh'
import type {TlsPem} from '../../../src/migrate/tls'

type OpenLink = {address: string; port: number; timeoutMs: number; pem: TlsPem}

function input(t: {after: (fn: () => void) => void}, transport: PageServerInput['transport'], openLink: (p: OpenLink) => Promise<unknown>, peer: string | null = '127.0.0.1'): PageServerInput & {tunnels: number} {
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-page-server-'))
  t.after(() => fs.rmSync(staging, {recursive: true, force: true}))
  const agent = {request: (op: string, p: OpenLink) => (op === 'open-page-link' ? openLink(p) : Promise.reject(new Error(`unexpected ${op}`)))} as unknown as AgentClient
  const i = {
    transport, agent, peer: peer ?? undefined, staging, notes: [] as string[], ctx: {verb: 'migrate', id: 'c1'}, tunnels: 0,
    session: {forwardFromRemote: async () => {
      i.tunnels++
      return {port: 40000, bytes: () => ({in: 0, out: 0}), close: async () => undefined}
    }} as unknown as SshSession,
  }
  return i
}

test('auto with an agent that connects: the page link, made before the freeze, both ends authenticated', async (t) => {
  let far: TLSSocket | undefined
  const i = input(t, 'auto', async (p) => {
    far = await connectPageLink(p.address, p.port, p.pem, p.timeoutMs)
    return {}
  })
  const plan = await planPageServer(i)
  t.after(() => {
    plan.link?.destroy()
    far?.destroy()
  })
  assert.ok(plan.link, 'a link')
  assert.equal(plan.link!.authorized, true, 'the agent presented a certificate the migration signed')
  assert.deepEqual(plan.forTarget, {link: true})
  assert.equal(i.tunnels, 0)
  assert.deepEqual(i.notes, [])
})

test('auto with an agent whose connection fails: the SSH tunnel, and the note says why', async (t) => {
  const i = input(t, 'auto', async () => {
    throw new Error('cannot connect to 127.0.0.1:1: connect ECONNREFUSED')
  })
  const plan = await planPageServer(i)
  assert.equal(plan.link, undefined)
  assert.equal(i.tunnels, 1)
  assert.deepEqual(plan.forTarget, {address: '127.0.0.1', port: 40000})
  assert.match(i.notes.join('\n'), /pages through the SSH tunnel: cannot connect to 127\.0\.0\.1:1/)
})

test('tls without the address the target sees this host at: one error before the freeze; ssh never makes keys', async (t) => {
  const i = input(t, 'tls', async () => ({}), null)
  await assert.rejects(planPageServer(i), (err: Error & {step?: string}) => {
    assert.match(err.message, /--page-transport tls: the target did not say which address it sees this host at/)
    return true
  })
  assert.equal(i.tunnels, 0)
  const s = input(t, 'ssh', async () => assert.fail('no link for ssh'))
  await planPageServer(s)
  assert.equal(s.tunnels, 1)
  assert.deepEqual(fs.readdirSync(s.staging), [], 'no keys made')
})
