// The source's dump during a migration: `checkpoint --leave-running` of the frozen container, so it stays frozen
// and whole until the target commits. For post-copy, CRIU writes everything but the memory, says "ready" on a
// status pipe, then serves the pages until the target has them all: `ready` resolves at that moment, `done` when
// the last page is served. For stop-copy with the page server (page-push.ts), CRIU sends the memory to the target
// while it dumps and writes only the other images here. Aborting kills criu (SIGKILL): only ever done once it serves
// pages (the parasite is out of the tasks by then), and the tasks, no longer held by criu, run on.
import * as fs from 'node:fs'
import * as path from 'node:path'
import {OcirtError} from '../core/errors'
import type {Runtime} from '../core/runtime'
import {checkpoint as runCheckpoint, type CheckpointOptions} from '../core/lifecycle/checkpoint'
import {makePipe} from '../core/sys/pipe'
import {makeSocketPair} from '../core/sys/socketpair'
import {relay} from './page-link'
import type {PageServerPlan} from './page-server'
import type {PagePushPlan} from './page-push'
import {startCriuService, type CriuService} from '../core/criu/service'
import {debug} from '../core/log'

export interface MigrationDump {
  /** the images (all of them, or all but the memory for post-copy and for stop-copy's page server) are written */
  ready: Promise<void>
  /** the dump finished (post-copy: every page served) */
  done: Promise<void>
  abort(): void
  /** stop-copy through the page link: the bytes relayed both ways so far (the freeze's progress line) */
  linkBytes?(): number
}

/**
 * What the freeze's dump gets ready beforehand (freeze-prep.ts): its status pipe (post-copy) or socketpair (stop-copy
 * through the page link), and a criu swrk holding criu's ends of them, so that the freeze spawns nothing.
 */
export interface PreparedDump {
  statusPipe?: [number, number]
  socketPair?: [number, number]
  service?: CriuService
  /** settles when the service answered or failed: awaited before the freeze, so that the freeze never waits for it */
  settled(): Promise<void>
  /** a migration that ends before the freeze: the service ends, the fds close */
  discard(): void
}

export function prepareDump(rt: Runtime, o: {pages: boolean; push: boolean}): PreparedDump {
  const statusPipe = o.pages ? makePipe() : undefined
  const socketPair = o.push ? makeSocketPair() : undefined
  const fds = [statusPipe?.[1], socketPair?.[1]].filter((fd): fd is number => fd !== undefined)
  let service: CriuService | undefined
  try {
    // OCIRT_CRIU_SWRK=0: criu is spawned in the freeze, as before (to compare)
    if (process.env.OCIRT_CRIU_SWRK !== '0') service = startCriuService(rt, fds)
  } catch (err) {
    debug(`migrate: no criu swrk for the dump (${(err as Error).message}): it starts in the freeze`)
  }
  let discarded = false
  return {
    statusPipe, socketPair, service,
    settled: () => (service ? service.ready.catch((err: Error) => debug(`migrate: criu swrk not used: ${err.message}`)) : Promise.resolve()),
    discard() {
      if (discarded) return
      discarded = true
      service?.close()
      for (const fd of [...(statusPipe ?? []), ...(socketPair ?? [])]) fs.closeSync(fd)
    },
  }
}

export function startDump(rt: Runtime, id: string, images: string, criuOpts: CheckpointOptions, pages?: PageServerPlan, push?: PagePushPlan, prepared?: PreparedDump): MigrationDump {
  const abort = new AbortController()
  // the target restores the container's own network namespace empty (and one it joins by path is the engine's, joined
  // again there, whose other members a lock would hold still too), so holding traffic still during the dump protects
  // nothing but established TCP connections (--tcp-established); without them, skipping the lock spares the freeze
  // CRIU's iptables-restore runs (~50 ms). CRIU before 3.19 has no `skip`: it locks as before (networkLockFor)
  const networkLock = criuOpts.tcpEstablished ? undefined : 'skip' as const
  // CRIU's log and stats go beside the images, not among them: the images are sent to the target during the freeze,
  // and the log (~100 KiB, still growing while pages are served) is of no use there
  const workPath = path.join(path.dirname(images), 'work')
  const common: CheckpointOptions = {...criuOpts, imagePath: images, workPath, leaveRunning: true, signal: abort.signal, networkLock, service: prepared?.service}
  // a checkpoint that failed before it reached criu leaves the prepared swrk unused: it ends with the dump (it holds
  // the status pipe's write end, which would keep the wait for "ready" open)
  const checkpoint = (o: CheckpointOptions) => {
    const done = runCheckpoint(rt, id, o, 'migrate')
    done.finally(() => prepared?.service?.close()).catch(() => undefined)
    return done
  }
  if (!pages) {
    if (!push) {
      const done = checkpoint(common)
      return {ready: done, done, abort: () => abort.abort()}
    }
    // criu sends the pages on its end of a socketpair, relayed from ours over the link (page-link.ts)
    const [ours, its] = prepared?.socketPair ?? makeSocketPair()
    const done = checkpoint({...common, pageSocket: its})
    const relayed = relay(ours, push.link)
    // criu has its copy while it runs; ours goes once it has ended, so that the relay sees criu's side close
    done.finally(() => fs.closeSync(its)).catch(() => undefined)
    return {ready: done, done, abort: () => abort.abort(), linkBytes: () => relayed.sent() + relayed.received()}
  }
  const [r, w] = prepared?.statusPipe ?? makePipe()
  // the read ends when criu writes "ready" or when every write end (ours, criu's) is closed
  const readByte = new Promise<void>((resolve, reject) => {
    fs.read(r, Buffer.alloc(1), 0, 1, null, (err, n) => (err ? reject(err) : n === 1 ? resolve() : reject(new Error('the status fd closed'))))
  }).finally(() => fs.closeSync(r))
  const done = checkpoint({...common, lazyPages: true, pageServer: pages.listen, criuExtraArgs: pages.criuArgs, statusFd: w})
  done.catch(() => undefined) // awaited by the caller; a failure before "ready" shows in `ready` too
  // criu has its own copy of the write end once it runs; ours must go so that a criu that dies ends the read
  const ready = Promise.race([readByte, done.then(() => {
    throw new OcirtError('criu finished the lazy dump before it served any page', {verb: 'migrate', id, step: 'dump'})
  })]).finally(() => fs.closeSync(w))
  return {ready, done, abort: () => abort.abort()}
}
