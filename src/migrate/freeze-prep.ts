// What the freeze needs, made while the bundle streams: the channels of the images and of the bundle's changes
// (each a process start on the target), the memory's path (for post-copy the source's page server, TLS keys made
// and tried for real, or the SSH tunnel; for stop-copy the target's page server, or the images channel), and the
// dump's criu, started as `criu swrk` with its status pipe or socketpair (dump.ts prepareDump). A failure here stops
// the sync at once and rolls back as any other.
import type {ErrorContext} from '../core/errors'
import {debug} from '../core/log'
import type {Runtime} from '../core/runtime'
import {prepareDump, type PreparedDump} from './dump'
import {prepareTcpCongestion} from '../core/sys/tcp-congestion'
import type {AgentClient} from './agent/client'
import type {UnpackChannel} from './channels'
import {planPagePush, type PagePushPlan} from './page-push'
import {planPageServer, type PageServerPlan, type PageTransport} from './page-server'
import type {Mode} from './preflight'
import type {SshSession} from './ssh'

export interface FreezeReady {
  /** stop-copy through SSH only: the channel the images go through */
  imagesChannel?: UnpackChannel
  /** one per bundle tree, for the changes made since the sync */
  deltaChannels: UnpackChannel[]
  /** post-copy: where the dump serves the pages */
  pages?: PageServerPlan
  /** stop-copy with the target's page server */
  push?: PagePushPlan
  /** the dump's fds and its criu, started already (dump.ts) */
  dump: PreparedDump
}

export interface FreezePrepInput {
  mode: Mode
  transport: PageTransport
  session: SshSession
  agent: AgentClient
  /** the host the SSH connection goes to, and this host's address as the target sees it */
  host: string
  peer?: string
  staging: string
  rt: Runtime
  /** the container's id on the target */
  targetId: string
  /** the target's image directory */
  imageDir: string
  /** the target's side of each bundle tree */
  trees: string[]
  /** the sync's first unpacker: it starts first on the target's CPUs, which the sync waits for */
  firstSync?: Promise<unknown>
  openChannel(dir: string): Promise<UnpackChannel>
  /** the memory's path, as soon as there is one (the rollback closes it) */
  onMemoryPath(p: {pages?: PageServerPlan; push?: PagePushPlan}): void
  notes: string[]
  ctx: ErrorContext
}

export async function prepareFreeze(i: FreezePrepInput): Promise<FreezeReady> {
  await i.firstSync?.catch(() => undefined)
  // a post-copy dump holds no memory, nor does stop-copy's with the page server: their images fit one put-images
  // request (transfer.ts), so no unpacker is started for them unless they turn out not to (one is opened in the freeze)
  const push = i.mode === 'stop-copy' ? await planPagePush({
    transport: i.transport, agent: i.agent, host: i.host, staging: i.staging, notes: i.notes, ctx: i.ctx,
  }) : undefined
  i.onMemoryPath({push})
  const imagesChannel = i.mode === 'post-copy' || push ? undefined : await i.openChannel(i.imageDir)
  const deltaChannels = await Promise.all(i.trees.map((dir) => i.openChannel(dir)))
  debug('migrate: channels for the freeze open')
  const pages = i.mode === 'post-copy' ? await planPageServer({
    transport: i.transport, session: i.session, agent: i.agent, peer: i.peer, staging: i.staging, rt: i.rt, notes: i.notes, ctx: i.ctx,
  }) : undefined
  i.onMemoryPath({pages, push})
  if (pages) debug(`migrate: page server planned (${pages.tunnel ? 'SSH tunnel' : 'TLS'})`)
  const held = pages ? holdTargetLazyPages(i.agent, i.targetId, pages) : undefined
  held?.catch(() => undefined) // awaited below; prepareDump throwing first must not leave it unhandled
  if (pages) prepareTcpCongestion() // its calls are made once the restore is asked (page-congestion.ts)
  // the dump's criu, with its end of a socketpair (stop-copy's page link) or of a status pipe (post-copy), waits
  // for its request (dump.ts prepareDump)
  const dump = prepareDump(i.rt, {pages: pages !== undefined, push: push !== undefined})
  try {
    await held
  } catch (err) {
    dump.discard()
    throw err
  }
  return {imagesChannel, deltaChannels, pages, push, dump}
}

/** post-copy: the target's lazy-pages daemon starts now and waits, loaded, for the images (agent/lazy-pages.ts) */
async function holdTargetLazyPages(agent: AgentClient, id: string, pages: PageServerPlan): Promise<void> {
  try {
    const {held} = await agent.request('prepare-lazy-pages', {id, pageServer: pages.forTarget})
    debug(`migrate: the target's lazy-pages daemon ${held ? 'waits at its gate' : 'starts with the images (no gate there)'}`)
  } catch (err) {
    if (!/^unknown request/.test((err as Error).message)) throw err // an older agent starts it with the images
  }
}
