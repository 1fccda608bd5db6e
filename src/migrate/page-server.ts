// Post-copy: how the target's lazy-pages daemon reaches the source's dump, which serves the container's pages.
// Through the page link (page-link.ts: TLS between the two ocirt processes with keys made for this one migration,
// each criu on a socketpair end), made before the freeze, or through a reverse tunnel in the SSH connection to a
// page server on this host's loopback. `auto` takes the link when it can be made, else the tunnel.
import * as path from 'node:path'
import type {TLSSocket} from 'node:tls'
import * as net from 'node:net'
import {OcirtError, type ErrorContext} from '../core/errors'
import {debug} from '../core/log'
import type {AgentClient} from './agent/client'
import {listenPageLink, type PageLinkListener} from './page-link'
import type {SshSession, Tunnel} from './ssh'
import {makeMigrationTls} from './tls'

export type PageTransport = 'auto' | 'ssh' | 'tls'

/** how long the two ends may take to make the link, before the freeze */
export const LINK_TIMEOUT_MS = 5000

export type PageServerPlan =
  /** the dump serves the pages on a socketpair end, relayed over the link */
  | {link: TLSSocket; forTarget: {link: true}; tunnel?: undefined}
  /** the dump listens on ADDRESS:PORT, the tunnel's source end; its byte counts are the pages moved */
  | {listen: string; forTarget: {address: string; port: number}; tunnel: Tunnel; link?: undefined}

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
  if (i.transport === 'ssh') return overSsh(i)
  const made = i.peer ? await makeLink(i, i.peer) : {problem: 'the target did not say which address it sees this host at (no SSH_CONNECTION)'}
  if (made.link) return {link: made.link, forTarget: {link: true}}
  if (i.transport === 'tls') throw new OcirtError(`--page-transport tls: ${made.problem}`, {...i.ctx, step: 'preflight'})
  i.notes.push(`pages through the SSH tunnel: ${made.problem}`)
  return overSsh(i)
}

async function overSsh(i: PageServerInput): Promise<PageServerPlan> {
  const port = await freePort('127.0.0.1')
  const tunnel = await i.session.forwardFromRemote('127.0.0.1', port)
  return {listen: `127.0.0.1:${port}`, forTarget: {address: '127.0.0.1', port: tunnel.port}, tunnel}
}

/** This migration's keys, a listener on the source's address as the target sees it, and the target's agent connected. */
async function makeLink(i: PageServerInput, peer: string): Promise<{link?: TLSSocket; problem?: string}> {
  let listener: PageLinkListener | undefined
  try {
    const keys = await makeMigrationTls(path.join(i.staging, 'tls'), peer)
    debug('migrate: TLS keys made')
    listener = await listenPageLink(peer, keys.server, LINK_TIMEOUT_MS)
    const [link] = await Promise.all([listener.link, i.agent.request('open-page-link', {address: peer, port: listener.port, timeoutMs: LINK_TIMEOUT_MS, pem: keys.client})])
    debug('migrate: page link up')
    return {link}
  } catch (err) {
    listener?.close()
    return {problem: (err as Error).message}
  }
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
