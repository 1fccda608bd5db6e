// Stop-copy with the page link: the target's `criu page-server` that the source's `criu dump --page-server` sends the
// container's memory to while it dumps, writing the pagemap and pages images straight into the migration's image
// directory (the other, small images follow in one put-images request). Each criu has one end of a socketpair as
// its page-server connection (--ps-socket); this agent relays its end over the page link (page-link.ts), for which
// it listens on the target's address as the source reaches it: both certificates name that address.
import {spawn, type ChildProcess} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {OcirtError} from '../../core/errors'
import {debug} from '../../core/log'
import {logTail} from '../../core/criu/client'
import {makeSocketPair} from '../../core/sys/socketpair'
import {listenPageLink, relay, type Relay} from '../page-link'
import type {TlsPem} from '../tls'

export const PAGE_SERVER_LOG = 'page-server.log'
/** how long the source may take to connect, once the listener is up (it connects at once) */
const CONNECT_TIMEOUT_MS = 10_000

export interface PageSink {
  port: number
  /** waits for the page server's end after the dump (it ends once the dump closed its session); the pages' bytes */
  finished(timeoutMs: number): Promise<number>
  stop(): void
}

/** `killDuringDump`: the injected fault, the page server killed as soon as the first pages arrive. */
export async function startPageSink(criu: string, o: {staging: string; imageDir: string; address: string; pem: TlsPem; id: string; killDuringDump?: boolean}): Promise<PageSink> {
  const ctx = {verb: 'migrate-agent', id: o.id, step: 'page server'}
  const listener = await listenPageLink(o.address, o.pem, CONNECT_TIMEOUT_MS).catch((err: Error) => {
    throw new OcirtError(`cannot listen for the page link on ${o.address}: ${err.message}`, ctx)
  })
  const log = path.join(o.staging, PAGE_SERVER_LOG)
  let ours: number
  let child: ChildProcess
  try {
    const pair = makeSocketPair()
    ours = pair[0]
    try {
      // one session: criu exits once the dump has closed it
      child = spawn(criu, ['page-server', '--ps-socket', '3', '-D', o.imageDir, '-o', log], {stdio: ['ignore', 'ignore', 'ignore', pair[1]]})
    } catch (err) {
      fs.closeSync(ours)
      throw err
    } finally {
      fs.closeSync(pair[1])
    }
  } catch (err) {
    listener.close()
    throw new OcirtError(`cannot start criu page-server: ${(err as Error).message}`, ctx)
  }
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (err) => resolve(err.message))
    child.once('exit', (code, sig) => resolve(code ?? sig ?? 'unknown'))
  })
  let linkRelay: Relay | undefined
  let closedOurs = false
  const closeOurs = () => {
    if (closedOurs) return
    closedOurs = true
    if (linkRelay) linkRelay.destroy()
    else fs.closeSync(ours)
  }
  listener.link.then((link) => {
    if (closedOurs) return void link.destroy()
    debug('migrate-agent: the source connected its page link')
    linkRelay = relay(ours, link)
  }, () => undefined) // no connection: the source's own connect failed, and it stops the page server
  let watch: NodeJS.Timeout | undefined
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  if (o.killDuringDump) {
    watch = setInterval(() => {
      if (!fs.readdirSync(o.imageDir).some((n) => n.startsWith('pages-'))) return
      clearInterval(watch)
      debug('migrate-agent: injected fault: killing the page server during the dump')
      kill()
    }, 5)
  }
  const stop = () => {
    clearInterval(watch)
    listener.close()
    kill()
    closeOurs()
  }
  return {
    port: listener.port, stop,
    async finished(timeoutMs) {
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)))
      const status = await Promise.race([exited, late]).finally(() => clearTimeout(timer))
      clearInterval(watch)
      if (status !== 0) {
        stop()
        const what = status === 'timeout' ? `did not end within ${timeoutMs} ms of the dump` : `ended with ${status}`
        throw new OcirtError(`the page server that took the pages ${what}:${logTail(log)}`, ctx)
      }
      closeOurs()
      return fs.readdirSync(o.imageDir).filter((n) => n.startsWith('pages-')).reduce((sum, n) => sum + fs.statSync(path.join(o.imageDir, n)).size, 0)
    },
  }
}
