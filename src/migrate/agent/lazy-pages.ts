// CRIU's lazy-pages daemon on the target of a post-copy migration: it serves the restored container's page faults
// by fetching pages from the source's page server, and pushes the rest in the background; it exits when every page
// has arrived. It reaches the source through the page link (page-link.ts: its --ps-socket is a socketpair whose
// other end this agent relays over TLS) or through the SSH tunnel whose target end is 127.0.0.1:port. It runs as
// this agent's child, not daemonized: its exit status is what says whether every page arrived (a daemon killed
// mid-way leaves no error in its log, and through the link the source sees an orderly end of the connection).
import * as path from 'node:path'
import {spawn} from 'node:child_process'
import type {Duplex, Readable} from 'node:stream'
import {OcirtError} from '../../core/errors'
import type {Runtime} from '../../core/runtime'
import {logTail} from '../../core/criu/client'
import {relay, type Relay} from '../page-link'

export const LAZY_LOG = 'lazy-pages.log'

export interface LazyPagesDaemon {
  pid: number
  log: string
  /** the page link's relay, when the daemon uses one */
  relay?: Relay
  /** criu's exit status, or the signal that ended it */
  exited: Promise<number | string>
  stop(): void
}

export type LazySource = {link: Duplex} | {address: string; port: number}

export async function startLazyPages(rt: Runtime, o: {imageDir: string; workDir: string; source: LazySource; id: string}): Promise<LazyPagesDaemon> {
  const log = path.join(o.workDir, LAZY_LOG)
  const link = 'link' in o.source ? o.source.link : undefined
  const how = 'link' in o.source ? ['--ps-socket', '3'] : ['--address', o.source.address, '--port', String(o.source.port)]
  // fd 3: its page-server connection (a socketpair spawn makes); fd 4: criu writes a byte there once its socket for
  // the restorer is ready, so the restore can start right after
  const child = spawn(rt.criu, ['lazy-pages', '--page-server', ...how, '-D', o.imageDir, '-W', o.workDir, '-o', LAZY_LOG, '-v4', '--status-fd', '4'],
    // its own process group, as runCriu's: a signal meant for the agent's group is not criu's
    {stdio: ['ignore', 'ignore', 'ignore', link ? 'pipe' : 'ignore', 'pipe'], detached: true})
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (err) => resolve(err.message))
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'))
  })
  const status = child.stdio[4] as Readable
  const ready = await Promise.race([
    new Promise<true>((resolve) => status.once('data', () => resolve(true))),
    exited,
  ])
  status.destroy()
  const ctx = {verb: 'migrate-agent', id: o.id, step: 'start lazy-pages'}
  if (ready !== true) throw new OcirtError(`criu lazy-pages failed before it was ready (${typeof ready === 'number' ? `status ${ready}` : ready}):${logTail(log)}`, ctx)
  const r = link ? relay(child.stdio[3] as Duplex, link) : undefined
  return {
    pid: child.pid!, log, relay: r, exited,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      r?.destroy()
    },
  }
}

/** Waits for the daemon to exit: it does once every page is in the container (status 0), or when it failed. */
export async function waitLazyPages(d: LazyPagesDaemon): Promise<{ok: boolean; detail: string}> {
  const status = await d.exited
  if (status === 0) return {ok: true, detail: 'all pages transferred'}
  return {ok: false, detail: `criu lazy-pages ${typeof status === 'number' ? `exited with status ${status}` : `was killed by ${status}`}:${logTail(d.log, 3)}`}
}
