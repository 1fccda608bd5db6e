// Stop-copy: the container's memory goes from CRIU's dump straight to a criu page server on the target, over CRIU's
// TLS, while the dump runs (agent/page-sink.ts), instead of being written here and streamed through the SSH
// connection afterwards: dump and transfer overlap and the pages move at C speed. The target is the TLS server: the
// keys (tls.ts, a CA made and forgotten for this migration) name the target's address as this host reaches it,
// which is what both criu ends check their peer's certificate against. Tried for real before the freeze: a TLS
// exchange with the target's probe page server, and this host's criu serving TLS at all. `auto` falls back to the
// SSH stream when any of it fails; `tls` refuses to freeze.
import * as dns from 'node:dns/promises'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import {OcirtError, type ErrorContext} from '../core/errors'
import {debug} from '../core/log'
import type {AgentClient} from './agent/client'
import type {PageTransport} from './page-server'
import {criuTlsArgs, makeMigrationTls, writeTlsFiles} from './tls'
import {pageServerHandshake, probeOwnCriuTls} from './tls-probe'

export interface PagePushPlan {
  /** ADDRESS:PORT of the target's page server, for criu dump --page-server */
  pageServer: string
  /** criu dump's TLS arguments (the client's keys) */
  criuArgs: string[]
  address: string
}

export interface PagePushInput {
  transport: PageTransport
  agent: AgentClient
  /** the host the SSH connection goes to */
  host: string
  staging: string
  criu: string
  notes: string[]
  ctx: ErrorContext
}

/** The page server on the target, started and tried; undefined when the pages go through SSH. */
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
  // one address both ends agree on: the target's page server listens on it and both certificates name it
  const address = net.isIP(i.host) ? i.host : (await dns.lookup(i.host)).address
  const dir = path.join(i.staging, 'tls-push')
  const keys = await makeMigrationTls(dir, address)
  debug('migrate: TLS keys for the page server made')
  // makeMigrationTls calls them server and client for post-copy; here the target serves and this host's dump is
  // the client: the same two certificates (both name `address`), the other way round
  const serverPem = {ca: read(keys.server.ca), cert: read(keys.server.cert), key: read(keys.server.key)}
  let started: {port: number; probePort: number}
  try {
    started = await i.agent.request('start-page-server', {address, pem: serverPem})
  } catch (err) {
    const why = (err as Error).message
    throw new Error(/^unknown request/.test(why) ? "the target's ocirt has no page server for stop-copy (older version)" : why)
  }
  debug(`migrate: the target's page server listens on ${address}:${started.port}`)
  const [remote, own] = await Promise.all([
    pageServerHandshake(address, started.probePort, keys.client, 5000),
    probeOwnCriuTls(i.criu, keys.client, 5000),
  ])
  if (!remote.ok || !own.ok) {
    await i.agent.request('stop-page-server', {}).catch(() => undefined)
    throw new Error(remote.ok ? own.detail : `the target's page server: ${remote.detail}`)
  }
  debug(`migrate: page server probed (${remote.detail})`)
  const clientFiles = writeTlsFiles(dir, 'dump-client', keys.client)
  return {pageServer: `${net.isIPv6(address) ? `[${address}]` : address}:${started.port}`, criuArgs: criuTlsArgs(clientFiles), address}
}

function read(file: string): string {
  return fs.readFileSync(file, 'utf8')
}
