// CRIU's lazy-pages daemon on the target of a post-copy migration: it serves the restored container's page faults
// by fetching pages from the source's page server (straight over CRIU's TLS, or through the SSH tunnel whose target
// end is 127.0.0.1:port), and pushes the rest in the background; it exits when every page has arrived. It runs as
// this agent's child, not daemonized (-d): its exit status is what says whether every page arrived (a daemon killed
// mid-way leaves no error in its log).
import * as path from 'node:path'
import {spawn} from 'node:child_process'
import type {Readable} from 'node:stream'
import {OcirtError} from '../../core/errors'
import type {Runtime} from '../../core/runtime'
import {logTail} from '../../core/criu/client'
import {criuTlsArgs, type TlsFiles} from '../tls'

export const LAZY_LOG = 'lazy-pages.log'

export interface LazyPagesDaemon {
  log: string
  /** criu's exit status, or the signal that ended it */
  exited: Promise<number | string>
  stop(): void
}

export async function startLazyPages(rt: Runtime, o: {imageDir: string; workDir: string; address: string; port: number; tls?: TlsFiles; id: string}): Promise<LazyPagesDaemon> {
  const log = path.join(o.workDir, LAZY_LOG)
  // fd 3: criu writes a byte there once its socket for the restorer is ready, so the restore can start right after
  const child = spawn(rt.criu, ['lazy-pages', '--page-server', '--address', o.address, '--port', String(o.port), ...(o.tls ? criuTlsArgs(o.tls) : []),
    '-D', o.imageDir, '-W', o.workDir, '-o', LAZY_LOG, '-v4', '--status-fd', '3'],
  // its own process group, as runCriu's: a signal meant for the agent's group is not criu's
  {stdio: ['ignore', 'ignore', 'ignore', 'pipe'], detached: true})
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (err) => resolve(err.message))
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'))
  })
  const status = child.stdio[3] as Readable
  const ready = await Promise.race([
    new Promise<true>((resolve) => status.once('data', () => resolve(true))),
    exited,
  ])
  status.destroy()
  if (ready !== true) {
    throw new OcirtError(`criu lazy-pages failed before it was ready (${typeof ready === 'number' ? `status ${ready}` : ready}):${logTail(log)}`, {verb: 'migrate-agent', id: o.id, step: 'start lazy-pages'})
  }
  return {
    log, exited,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    },
  }
}

/** Waits for the daemon to exit: it does once every page is in the container (status 0), or when it failed. */
export async function waitLazyPages(d: LazyPagesDaemon): Promise<{ok: boolean; detail: string}> {
  const status = await d.exited
  if (status === 0) return {ok: true, detail: 'all pages transferred'}
  return {ok: false, detail: `criu lazy-pages ${typeof status === 'number' ? `exited with status ${status}` : `was killed by ${status}`}:${logTail(d.log, 3)}`}
}
