// Stop-copy: the container's memory goes from CRIU's dump straight to a criu page server on the target while the
// dump runs (agent/page-sink.ts), over the page link (page-link.ts), instead of being written here and streamed
// through the SSH connection afterwards: dump and transfer overlap, and the pages move at splice and OpenSSL
// speed. The target listens: the keys (tls.ts, a CA made and forgotten for this migration) name the target's
// address as this host reaches it, which this host checks the target's certificate against. The link is made
// before the freeze; `auto` falls back to the SSH stream when it cannot be, `tls` refuses to freeze.
import * as dns from 'node:dns/promises'
import * as net from 'node:net'
import * as path from 'node:path'
import type {TLSSocket} from 'node:tls'
import {OcirtError, type ErrorContext} from '../core/errors'
import {debug} from '../core/log'
import type {AgentClient} from './agent/client'
import {connectPageLink, LINK_TIMEOUT_MS} from './page-link'
import type {PageTransport} from './page-server'
import {makeMigrationTls} from './tls'

export interface PagePushPlan {
  /** the link to the target's page server; the dump's criu gets a socketpair end relayed over it */
  link: TLSSocket
  address: string
}

export interface PagePushInput {
  transport: PageTransport
  agent: AgentClient
  /** the host the SSH connection goes to */
  host: string
  staging: string
  notes: string[]
  ctx: ErrorContext
}

/** The page server on the target, started and linked; undefined when the pages go through SSH. */
export async function planPagePush(i: PagePushInput): Promise<PagePushPlan | undefined> {
  if (i.transport === 'ssh') return undefined
  try {
    return await startPagePush(i)
  } catch (err) {
    const problem = (err as Error).message
    if (i.transport === 'tls') throw new OcirtError(`--page-transport tls: ${problem}`, {...i.ctx, step: 'preflight'})
    i.notes.push(`pages through the SSH connection after the dump: ${problem}`)
    return undefined
  }
}

async function startPagePush(i: PagePushInput): Promise<PagePushPlan> {
  // one address both ends agree on: the target's listener is on it and its certificate names it
  const address = net.isIP(i.host) ? i.host : (await dns.lookup(i.host)).address
  // kept in memory: the target's key goes to it over the SSH channel, nothing here reads it from a file
  const keys = await makeMigrationTls(path.join(i.staging, 'tls-push'), address, Date.now(), {serverFiles: false})
  debug('migrate: TLS keys for the page server made')
  let started: {port: number}
  try {
    started = await i.agent.request('start-page-server', {address, pem: keys.server})
  } catch (err) {
    const why = (err as Error).message
    throw new Error(/^unknown request/.test(why) ? "the target's ocirt has no page server for stop-copy (older version)" : why)
  }
  debug(`migrate: the target's page server listens on ${address}:${started.port}`)
  try {
    const link = await connectPageLink(address, started.port, keys.client, LINK_TIMEOUT_MS)
    debug('migrate: page link to the target up')
    return {link, address}
  } catch (err) {
    await i.agent.request('stop-page-server', {}).catch(() => undefined)
    throw new Error(`the page link to the target: ${(err as Error).message}`)
  }
}
