// Post-copy: where the source's dump serves the container's pages and how the target's lazy-pages daemon reaches
// it. Through a reverse tunnel in the SSH connection (always works), or straight to the source's address as the
// target sees it, over CRIU's TLS with keys made for this one migration. `auto` takes TLS when a real TLS exchange
// between the two hosts' criu works with those keys, tried before the freeze.
//
// Not through the page link that stop-copy uses (page-link.ts): a container running on the target waits for each
// page it touches first, one round trip at a time, and two Node relays on the way doubled that wait (median 0.22 →
// 0.55 ms a fault here); a container that dirties 80 new pages between two ticks then stalled 100-270 ms where it
// stalls under 60 ms with CRIU's TLS straight between the two criu (docs/migrate.md, "Post-copy's pages").
import * as net from 'node:net'
import * as path from 'node:path'
import {OcirtError, type ErrorContext} from '../core/errors'
import {debug} from '../core/log'
import type {AgentClient} from './agent/client'
import type {SshSession, Tunnel} from './ssh'
import {criuTlsArgs, makeMigrationTls, type MigrationTls} from './tls'
import {criuDoesTls, freePort, startProbeListener, type ProbePageServer} from './tls-probe'
import type {Runtime} from '../core/runtime'

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
  /** this host's runtime: its criu serves the pages */
  rt: Runtime
  /** why the tunnel was chosen, for the summary */
  notes: string[]
  ctx: ErrorContext
}

export async function planPageServer(i: PageServerInput): Promise<PageServerPlan> {
  if (i.transport === 'ssh') return overSsh(i)
  const tried = i.peer ? await tryTls(i, i.peer) : {problem: 'the target did not say which address it sees this host at (no SSH_CONNECTION)'}
  if (tried.keys) return overTls(tried.keys, i.peer!)
  const problem = tried.problem
  if (i.transport === 'tls') throw new OcirtError(`--page-transport tls: ${problem}`, {...i.ctx, step: 'preflight'})
  i.notes.push(`pages through the SSH tunnel: ${problem}`)
  return overSsh(i)
}

async function overSsh(i: PageServerInput): Promise<PageServerPlan> {
  const port = await freePort('127.0.0.1')
  const tunnel = await i.session.forwardFromRemote('127.0.0.1', port)
  return {listen: `127.0.0.1:${port}`, criuArgs: [], forTarget: {address: '127.0.0.1', port: tunnel.port}, tunnel}
}

async function overTls(keys: MigrationTls, peer: string): Promise<PageServerPlan> {
  const port = await freePort(peer)
  return {listen: `${net.isIPv6(peer) ? `[${peer}]` : peer}:${port}`, criuArgs: criuTlsArgs(keys.serverFiles!), forTarget: {address: peer, port, tls: keys.client}}
}

/**
 * Makes this migration's keys and tries them before the freeze (tls-probe.ts): this host's criu does TLS (checked
 * once per criu binary), and the target's agent, as its lazy-pages daemon will, reaches this host's address and
 * accepts this host's certificate, which accepts its own. The keys if they work, or why not.
 */
async function tryTls(i: PageServerInput, peer: string): Promise<{keys?: MigrationTls; problem?: string}> {
  let listener: ProbePageServer | undefined
  try {
    const keys = await makeMigrationTls(path.join(i.staging, 'tls'), peer)
    debug('migrate: TLS keys made')
    const own = await criuDoesTls(i.rt, keys.client, 5000)
    if (!own.ok) return {problem: own.detail}
    listener = await startProbeListener(peer, keys.server)
    const probe = await i.agent.request('probe-tls', {address: peer, port: listener.port, timeoutMs: 5000, pem: keys.client})
    debug(`migrate: TLS probe answered (${probe.ok ? 'ok' : probe.detail})`)
    return probe.ok ? {keys} : {problem: probe.detail}
  } catch (err) {
    return {problem: (err as Error).message}
  } finally {
    listener?.stop()
  }
}
