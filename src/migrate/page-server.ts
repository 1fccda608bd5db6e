// Post-copy: where the source's dump serves the container's pages and how the target's lazy-pages daemon reaches
// it. Through a reverse tunnel in the SSH connection (always works), or straight to the source's address as the
// target sees it, over CRIU's TLS with keys made for this one migration (faster: no hops through Node). `auto`
// takes TLS when the target can open a connection to this host, checked before the freeze.
import * as net from 'node:net'
import * as path from 'node:path'
import {OcirtError, type ErrorContext} from '../core/errors'
import type {AgentClient} from './agent/client'
import type {SshSession, Tunnel} from './ssh'
import {criuTlsArgs, makeMigrationTls} from './tls'

export type PageTransport = 'auto' | 'ssh' | 'tls'

export interface PageServerPlan {
  /** ADDRESS:PORT the dump's page server listens on */
  listen: string
  /** criu dump's extra arguments (the server's TLS keys) */
  criuArgs: string[]
  /** what the target's lazy-pages daemon connects to */
  forTarget: {address: string; port: number; tls?: {ca: string; cert: string; key: string}}
  /** the SSH tunnel, when pages go through it (its byte counts are the pages moved) */
  tunnel?: Tunnel
}

export interface PageServerInput {
  transport: PageTransport
  session: SshSession
  agent: AgentClient
  /** the source's address as the target sees it (the agent's SSH_CONNECTION) */
  peer?: string
  /** the migration's private staging directory: the TLS keys go there */
  staging: string
  /** why the tunnel was chosen, for the summary */
  notes: string[]
  ctx: ErrorContext
}

export async function planPageServer(i: PageServerInput): Promise<PageServerPlan> {
  const transport = i.transport === 'auto' ? await directReachable(i) : i.transport
  if (transport === 'ssh') {
    const port = await freePort('127.0.0.1')
    const tunnel = await i.session.forwardFromRemote('127.0.0.1', port)
    return {listen: `127.0.0.1:${port}`, criuArgs: [], forTarget: {address: '127.0.0.1', port: tunnel.port}, tunnel}
  }
  const peer = i.peer
  if (!peer) throw new OcirtError('--page-transport tls: the target did not say which address it sees this host at (no SSH_CONNECTION)', {...i.ctx, step: 'preflight'})
  const tls = makeMigrationTls(path.join(i.staging, 'tls'), peer)
  const port = await freePort(peer)
  return {listen: `${net.isIPv6(peer) ? `[${peer}]` : peer}:${port}`, criuArgs: criuTlsArgs(tls.server), forTarget: {address: peer, port, tls: tls.client}}
}

/** auto: TLS when the target can connect to a listener of ours on the peer address, else the SSH tunnel. */
async function directReachable(i: PageServerInput): Promise<'ssh' | 'tls'> {
  if (!i.peer) {
    i.notes.push('pages through the SSH tunnel: the target did not say which address it sees this host at')
    return 'ssh'
  }
  const srv = net.createServer((sock) => sock.destroy())
  try {
    await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, i.peer, () => resolve()))
    const {port} = srv.address() as net.AddressInfo
    const probe = await i.agent.request('probe-connect', {address: i.peer, port, timeoutMs: 2000})
    if (probe.ok) return 'tls'
    i.notes.push(`pages through the SSH tunnel: the target cannot connect to ${i.peer} (${probe.detail})`)
  } catch (err) {
    i.notes.push(`pages through the SSH tunnel: cannot listen on ${i.peer} (${(err as Error).message})`)
  } finally {
    srv.close()
  }
  return 'ssh'
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, host, () => {
      const {port} = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}
