// Stop-copy with the page server: the target's `criu page-server` that the source's `criu dump --page-server`
// sends the container's memory to while it dumps, writing the pagemap and pages images straight into the
// migration's image directory (the other, small images follow in one put-images request). CRIU's TLS, this host
// as the server: its certificate and the dump's both name this host's address as the source reaches it, which is
// what each side checks against its --address. A second page server with the same keys takes the source's probe
// before the freeze: a criu page server ends after one session, so the probe must not use the real one.
import * as fs from 'node:fs'
import * as path from 'node:path'
import {OcirtError} from '../../core/errors'
import {debug} from '../../core/log'
import {writeTlsFiles, type TlsPem} from '../tls'
import {logTail, startCriuPageServer, startProbePageServer, type CriuPageServer, type ProbePageServer} from '../tls-probe'

export const PAGE_SERVER_LOG = 'page-server.log'
/** the real page server's last resort if the agent is killed without undoing (timeout(1)): longer than any freeze */
const LIFETIME_S = 3600

export interface PageSink {
  port: number
  probePort: number
  /** waits for the page server's end after the dump (it ends once the dump closed its session); the pages' bytes */
  finished(timeoutMs: number): Promise<number>
  stop(): void
}

/** `killDuringDump`: the injected fault, the page server killed as soon as the first pages arrive. */
export async function startPageSink(criu: string, o: {staging: string; imageDir: string; address: string; pem: TlsPem; id: string; killDuringDump?: boolean}): Promise<PageSink> {
  const files = writeTlsFiles(o.staging, 'page-server', o.pem)
  const log = path.join(o.staging, PAGE_SERVER_LOG)
  const [real, probe] = await Promise.allSettled([
    startCriuPageServer(criu, {files, address: o.address, dir: o.imageDir, log, lifetimeS: LIFETIME_S}),
    startProbePageServer(criu, files, o.address),
  ])
  const servers = [real, probe].flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])) as Array<CriuPageServer | ProbePageServer>
  if (real.status === 'rejected' || probe.status === 'rejected') {
    for (const s of servers) s.stop()
    const why = ((real.status === 'rejected' ? real.reason : (probe as PromiseRejectedResult).reason) as Error).message
    throw new OcirtError(`cannot start criu page-server on ${o.address}: ${why}`, {verb: 'migrate-agent', id: o.id, step: 'page server'})
  }
  const server = real.value
  let watch: NodeJS.Timeout | undefined
  if (o.killDuringDump) {
    watch = setInterval(() => {
      if (!fs.readdirSync(o.imageDir).some((n) => n.startsWith('pages-'))) return
      clearInterval(watch)
      debug('migrate-agent: injected fault: killing the page server during the dump')
      server.stop()
    }, 5)
  }
  const stop = () => {
    clearInterval(watch)
    server.stop()
    probe.value.stop()
  }
  return {
    port: server.port, probePort: probe.value.port, stop,
    async finished(timeoutMs) {
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)))
      const status = await Promise.race([server.exited, late]).finally(() => clearTimeout(timer))
      clearInterval(watch)
      probe.value.stop() // the source's probe ended it long ago; its directory goes now (a commit runs no undo)
      if (status !== 0) {
        stop()
        const what = status === 'timeout' ? `did not end within ${timeoutMs} ms of the dump` : `ended with ${status}`
        throw new OcirtError(`the page server that took the pages ${what}:${logTail(log)}`, {verb: 'migrate-agent', id: o.id, step: 'page server'})
      }
      return fs.readdirSync(o.imageDir).filter((n) => n.startsWith('pages-')).reduce((sum, n) => sum + fs.statSync(path.join(o.imageDir, n)).size, 0)
    },
  }
}
