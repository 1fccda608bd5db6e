// CRIU's lazy-pages daemon on the target of a post-copy migration: it serves the restored container's page faults
// by fetching pages from the source's page server (through the SSH tunnel whose target end is `port`), and pushes
// the rest in the background; it exits when every page has arrived.
import * as fs from 'node:fs'
import * as path from 'node:path'
import {spawn} from 'node:child_process'
import {OcirtError} from '../../core/errors'
import type {Runtime} from '../../core/runtime'
import {logTail} from '../../core/criu/client'
import {criuTlsArgs, type TlsFiles} from '../tls'

export const LAZY_LOG = 'lazy-pages.log'

export interface LazyPagesDaemon {
  pid: number
  log: string
  stop(): void
}

export async function startLazyPages(rt: Runtime, o: {imageDir: string; workDir: string; address: string; port: number; tls?: TlsFiles; id: string}): Promise<LazyPagesDaemon> {
  const pidFile = path.join(o.workDir, 'lazy-pages.pid')
  const log = path.join(o.workDir, LAZY_LOG)
  // -d: criu daemonizes once its socket for the restorer is ready, so the restore can start right after
  const child = spawn(rt.criu, ['lazy-pages', '--page-server', '--address', o.address, '--port', String(o.port),
    ...(o.tls ? criuTlsArgs(o.tls) : []), '-D', o.imageDir, '-W', o.workDir, '-o', LAZY_LOG, '-v4', '-d', '--pidfile', pidFile], {stdio: 'ignore'})
  const status = await new Promise<number | string>((resolve) => {
    child.once('error', (err) => resolve(err.message))
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'))
  })
  if (status !== 0) {
    throw new OcirtError(`criu lazy-pages failed (${typeof status === 'number' ? `status ${status}` : status}):${logTail(log)}`, {verb: 'migrate-agent', id: o.id, step: 'start lazy-pages'})
  }
  const pid = Number(fs.readFileSync(pidFile, 'utf8').trim())
  return {
    pid, log,
    stop() {
      if (alive(pid)) process.kill(pid, 'SIGKILL')
    },
  }
}

/** Waits for the daemon to exit: it does once every page is in the container, or when the source went away. */
export async function waitLazyPages(d: LazyPagesDaemon): Promise<{ok: boolean; detail: string}> {
  while (alive(d.pid)) await new Promise((r) => setTimeout(r, 25))
  let text = ''
  try {
    text = fs.readFileSync(d.log, 'utf8')
  } catch {
    return {ok: false, detail: `no log at ${d.log}`}
  }
  const errors = text.split('\n').filter((l) => /Error|FAIL/.test(l))
  return errors.length ? {ok: false, detail: `${errors.slice(-3).join('\n')} (criu log: ${d.log})`} : {ok: true, detail: 'all pages transferred'}
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    // a zombie is gone for our purposes
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
  } catch {
    return false
  }
}
