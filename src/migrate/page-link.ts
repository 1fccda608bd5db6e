// Stop-copy's memory path between the two hosts' CRIU, carried by ocirt: each criu gets one end of a socketpair as
// its page-server connection (--ps-socket) and ocirt relays the other end over a TLS connection of its own, made
// with this migration's keys (tls.ts) before the freeze. Why not CRIU's own --tls: its GnuTLS send path copies every
// page through a userspace buffer and moves ~130 MiB/s here, where a splice into the socketpair and Node's TLS
// (OpenSSL, AES-GCM) move ~700 MiB/s; and with no listening socket on either criu nothing else on either host can
// connect to a page server. (Post-copy keeps CRIU's TLS: page-server.ts says why.)
//
// The listening end takes the first connection whose certificate the migration's CA signed (the CA's key is gone,
// so there are only two) and answers it with one byte: in TLS 1.3 a client's handshake completes before the server
// has checked the client's certificate, so that byte is what proves to the connecting end that the link works.
import * as net from 'node:net'
import * as tls from 'node:tls'
import type {Duplex} from 'node:stream'
import type {TlsPem} from './tls'

const ACCEPTED = 0x6f // 'o'

/** how long a relay's side may take to flush what is on its way once the other side has gone */
const SHUT_GRACE_MS = 2000

/** TCP keepalive on the link: a peer host that vanished is noticed by the kernel, not only by TCP's retries */
const KEEPALIVE_MS = 5000

/** how long the relay waits for a byte, either way, before it gives the link up: the dump moves pages all along */
export const RELAY_IDLE_MS = 30_000

/** how long the two ends may take to make the link, before the freeze */
export const LINK_TIMEOUT_MS = 5000

export interface PageLinkListener {
  port: number
  /** the link, once an authorized peer has connected (rejects after timeoutMs, or when closed first) */
  link: Promise<tls.TLSSocket>
  close(): void
}

/** A TLS server on address (port 0: a free one) for one link. */
export function listenPageLink(address: string, pem: TlsPem, timeoutMs: number): Promise<PageLinkListener> {
  return new Promise((resolve, reject) => {
    let settle: {ok(s: tls.TLSSocket): void; fail(e: Error): void} | undefined
    // settled: a handshake that was under way when the listener gave up (or a second one) must not be answered, or
    // its end would believe in a link nobody relays
    let settled = false
    const link = new Promise<tls.TLSSocket>((ok, fail) => (settle = {
      ok: (s) => {
        settled = true
        ok(s)
      },
      fail: (e) => {
        settled = true
        fail(e)
      },
    }))
    link.catch(() => undefined) // the caller may close before it waits
    let timer: NodeJS.Timeout | undefined
    const server = tls.createServer({
      ca: pem.ca, cert: pem.cert, key: pem.key, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3',
    }, (socket) => {
      if (settled) return void socket.destroy()
      clearTimeout(timer)
      server.close()
      socket.setNoDelay(true)
      socket.setKeepAlive(true, KEEPALIVE_MS)
      socket.on('error', () => undefined) // a link that breaks before its relay starts fails the relay (or is unused)
      socket.write(Buffer.of(ACCEPTED))
      settle!.ok(socket)
    })
    const close = () => {
      clearTimeout(timer)
      server.close()
      settle!.fail(new Error('the page link was closed before the target connected'))
    }
    server.once('error', (err) => {
      reject(err)
      settle!.fail(err)
    })
    server.listen(0, address, () => {
      timer = setTimeout(() => {
        server.close()
        settle!.fail(new Error(`nobody with this migration's certificate connected to ${address} within ${timeoutMs} ms`))
      }, timeoutMs)
      resolve({port: (server.address() as net.AddressInfo).port, link, close})
    })
  })
}

/** Connects to the other end's listener: resolves once that end has accepted this end's certificate. */
export function connectPageLink(address: string, port: number, pem: TlsPem, timeoutMs: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({host: address, port, ca: pem.ca, cert: pem.cert, key: pem.key, minVersion: 'TLSv1.3', timeout: timeoutMs})
    let settled = false
    const done = (err?: Error) => {
      if (settled) return
      settled = true
      socket.setTimeout(0)
      socket.off('readable', onReadable)
      if (err) {
        socket.destroy()
        reject(err)
      } else resolve(socket)
    }
    const onReadable = () => {
      const b = socket.read(1) as Buffer | null
      if (b === null) return
      done(b[0] === ACCEPTED ? undefined : new Error(`unexpected first byte ${b[0]} from ${address}:${port}`))
    }
    socket.setNoDelay(true)
    socket.setKeepAlive(true, KEEPALIVE_MS)
    socket.on('readable', onReadable)
    socket.once('end', () => done(new Error(`${address}:${port} closed the TLS connection: it did not accept this host's certificate`)))
    socket.once('timeout', () => done(new Error(`no answer over TLS from ${address}:${port} within ${timeoutMs} ms`)))
    socket.once('error', (err: NodeJS.ErrnoException) => done(new Error(describe(err, address, port))))
  })
}

export interface Relay {
  /** bytes from the local criu to the link, and from the link to it */
  sent(): number
  received(): number
  /** both directions ended (or one failed: then both are torn down); the first error, if any */
  done: Promise<Error | undefined>
  destroy(): void
}

/** Relays our end of criu's socketpair (an fd, or a spawned child's stdio stream) and the link, both ways, until both
 * ends are done. */
export function relay(ours: number | Duplex, link: Duplex, idleMs = RELAY_IDLE_MS): Relay {
  const local = typeof ours === 'number' ? new net.Socket({fd: ours, readable: true, writable: true}) : ours
  let sent = 0
  let received = 0
  // armed by the first byte: the target's relay starts when the link is made, before the freeze, and may wait for
  // the dump as long as the bundle takes to stream
  let idle: NodeJS.Timeout | undefined
  const moved = () => {
    clearTimeout(idle)
    idle = setTimeout(() => local.destroy(new Error(`nothing crossed the page link for ${idleMs / 1000} s`)), idleMs)
  }
  local.on('data', (b: Buffer) => {
    sent += b.length
    moved()
  })
  link.on('data', (b: Buffer) => {
    received += b.length
    moved()
  })
  local.pipe(link)
  link.pipe(local)
  const destroy = () => {
    local.destroy()
    link.destroy()
  }
  // one side ended or went: the other gets what is on its way, then goes too. Not only half-closed: a criu blocked
  // writing to a socket nobody reads any more would wait forever (the dump, when the target's page server died)
  const shutting = new Set<Duplex>()
  const shut = (s: Duplex) => {
    if (s.destroyed || shutting.has(s)) return
    shutting.add(s)
    s.once('finish', () => s.destroy())
    const late = setTimeout(() => s.destroy(), SHUT_GRACE_MS)
    s.once('close', () => clearTimeout(late))
    s.end()
  }
  local.once('end', () => shut(link))
  link.once('end', () => shut(local))
  local.once('close', () => shut(link))
  link.once('close', () => shut(local))
  // a link that went before the relay started (reset while the bundle streamed) emits nothing any more: criu's
  // side must go at once, not wait on a pipe into a dead stream
  if (link.destroyed || link.readableEnded) setImmediate(() => shut(local))
  const done = new Promise<Error | undefined>((resolve) => {
    let closed = 0
    let first: Error | undefined
    const fail = (err: Error) => {
      first ??= err
      destroy()
    }
    local.once('error', fail)
    link.once('error', fail)
    const onClose = () => {
      if (++closed < 2) return
      clearTimeout(idle)
      resolve(first)
    }
    local.once('close', onClose)
    link.once('close', onClose)
    if ((link as Duplex & {closed?: boolean}).closed) onClose()
  })
  return {sent: () => sent, received: () => received, done, destroy}
}

function describe(err: NodeJS.ErrnoException, address: string, port: number): string {
  const code = err.code ?? ''
  if (code === 'CERT_NOT_YET_VALID') return `the other host's certificate is not yet valid here: this clock is more than an hour behind its (${err.message})`
  if (code === 'CERT_HAS_EXPIRED') return `the other host's certificate has expired here: this clock is more than a day ahead of its (${err.message})`
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ETIMEDOUT') return `cannot connect to ${address}:${port}: ${err.message}`
  if (code === 'ECONNRESET' || code === 'EPIPE') return `${address}:${port} ended the TLS handshake (it did not accept this host's certificate): ${err.message}`
  return `TLS with ${address}:${port} failed: ${code ? `${code}: ` : ''}${err.message}`
}
