// Before the freeze: will CRIU's page server over TLS work between these two hosts with this migration's keys?
// Two questions, asked separately:
// - Does each host's criu do TLS at all (built with GnuTLS, takes keys of this shape)? probeOwnCriuTls: a real
//   `criu page-server --tls` on loopback and one handshake with it. Its success is remembered per criu binary
//   (knownCriuFact), so a host asks once, not at every migration: each ask starts criu twice, ~100-300 ms of CPU
//   that the bundle's stream needs at that moment.
// - Can the target reach this host's address with these keys, each clock accepting the other's certificates? The
//   source listens with Node's TLS (startProbeListener) and the target's agent connects as its lazy-pages daemon will
//   (pageServerHandshake): one handshake, both certificates checked, names included, as CRIU checks them.
import {spawn, type ChildProcess} from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import * as tls from 'node:tls'
import type {Runtime} from '../core/runtime'
import {knownCriuFact, recordCriuFact} from '../core/criu/client'
import {criuTlsArgs, type TlsFiles, type TlsPem, writeTlsFiles} from './tls'

export interface ProbeResult {
  ok: boolean
  detail: string
}

export interface ProbePageServer {
  port: number
  /** stops criu (if the handshake did not end it) and removes its directory */
  stop(): void
}

/**
 * A `criu page-server --tls` on address (a free port), for one probing connection; it ends after that session, or
 * after 60 s under timeout(1) if this process dies without stop(). CRIU's server checks that the client's
 * certificate names the server's own address; `anyName` turns that off.
 */
export async function startProbePageServer(criu: string, files: TlsFiles, address: string, o: {anyName?: boolean} = {}): Promise<ProbePageServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-tls-probe-'))
  const log = path.join(dir, 'page-server.log')
  let child: ChildProcess | undefined
  const stop = () => {
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGTERM') // timeout(1) passes it on to criu
      } catch {
        // gone meanwhile
      }
    }
    fs.rmSync(dir, {recursive: true, force: true})
  }
  try {
    const port = await freePort(address)
    // --status-fd: criu writes a byte once it listens
    child = spawn('timeout', ['--kill-after=2', '60', criu, 'page-server', ...criuTlsArgs(files), ...(o.anyName ? ['--tls-no-cn-verify'] : []), '--address', address, '--port', String(port),
      '-D', dir, '-o', log, '--status-fd', '3'], {stdio: ['ignore', 'ignore', 'ignore', 'pipe']})
    const started = child
    const status = started.stdio[3] as net.Socket
    const why = await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve('criu page-server did not start within 5 s'), 5000)
      const done = (text: string) => {
        clearTimeout(timer)
        resolve(text)
      }
      status.once('data', () => done(''))
      started.once('error', (err) => done(`cannot run ${criu}: ${err.message}`))
      started.once('exit', (code, sig) => done(code === 126 || code === 127 ? `cannot run ${criu}: not found or not executable` : `criu page-server exited (${code ?? sig}) before listening: ${logTail(log)}`))
    })
    status.destroy()
    if (why) throw new Error(why)
    return {port, stop}
  } catch (err) {
    stop()
    throw err
  }
}

/**
 * The source's side of the reachability probe: a TLS server on address (a free port) that takes one connection
 * with this migration's client certificate naming `address` (CRIU's page server checks that too) and answers its
 * first command as a page server would, with a 4-byte status.
 */
export function startProbeListener(address: string, pem: TlsPem): Promise<ProbePageServer> {
  return new Promise((resolve, reject) => {
    const server = tls.createServer({ca: pem.ca, cert: pem.cert, key: pem.key, requestCert: true, rejectUnauthorized: true}, (sock) => {
      sock.on('error', () => undefined)
      const peerCert = sock.getPeerX509Certificate()
      const named = peerCert && (net.isIP(address) ? peerCert.checkIP(address) : peerCert.checkHost(address))
      if (!named) return void sock.destroy()
      sock.once('data', () => sock.end(Buffer.alloc(4)))
    })
    server.once('error', reject)
    server.listen(0, address, () => {
      resolve({port: (server.address() as net.AddressInfo).port, stop: () => server.close()})
    })
  })
}

/** CRIU's page-server command "flush and close" (page-xfer.c), which the server answers with a 4-byte status. */
const PS_IOV_FLUSH_N_CLOSE = 0x1024

/**
 * A TLS connection to a criu page server as the lazy-pages daemon makes it (the server's certificate must match the
 * address), then one page-server command. The answer is the proof: in TLS 1.3 the client's handshake completes
 * before the server has checked the client's certificate, and a server that rejects it only closes the connection.
 */
export function pageServerHandshake(address: string, port: number, pem: TlsPem, timeoutMs: number, checkIdentity = true): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const sock = tls.connect({
      host: address, port, ca: pem.ca, cert: pem.cert, key: pem.key, timeout: timeoutMs,
      ...(checkIdentity ? {} : {checkServerIdentity: () => undefined}),
    })
    let settled = false
    const done = (ok: boolean, detail: string) => {
      if (settled) return
      settled = true
      sock.destroy()
      resolve({ok, detail})
    }
    sock.once('secureConnect', () => {
      const cmd = Buffer.alloc(24) // struct page_server_iov {u32 cmd; u32 nr_pages; u64 vaddr; u64 dst_id}
      cmd.writeUInt32LE(PS_IOV_FLUSH_N_CLOSE, 0)
      sock.write(cmd)
    })
    sock.once('data', () => done(true, `TLS ${sock.getProtocol()} with ${address}:${port}, both certificates accepted`))
    sock.once('close', () => done(false, `the criu page server at ${address}:${port} closed the connection after the TLS handshake: it did not accept this host's certificate (see its log)`))
    sock.once('timeout', () => done(false, `no answer over TLS from ${address}:${port} within ${timeoutMs} ms`))
    sock.once('error', (err) => done(false, describe(err, address, port)))
  })
}

/** probeOwnCriuTls once per criu binary: a success is remembered (knownCriuFact), a failure asked again next time. */
export async function criuDoesTls(rt: Runtime, pem: TlsPem, timeoutMs: number): Promise<ProbeResult> {
  if (knownCriuFact(rt, 'tls')) return {ok: true, detail: `${rt.criu} does TLS (known from an earlier check)`}
  const r = await probeOwnCriuTls(rt.criu, pem, timeoutMs)
  if (r.ok) recordCriuFact(rt, 'tls')
  return r
}

/**
 * A check of this host's CRIU: a page server with the lazy-pages daemon's keys on loopback (the certificates
 * are for the source's address, so names are not checked here on either end; the handshake with the source checks
 * them).
 */
export async function probeOwnCriuTls(criu: string, pem: TlsPem, timeoutMs: number): Promise<ProbeResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-tls-keys-'))
  let server: ProbePageServer | undefined
  try {
    fs.chmodSync(dir, 0o700)
    server = await startProbePageServer(criu, writeTlsFiles(dir, 'probe', pem), '127.0.0.1', {anyName: true})
    const r = await pageServerHandshake('127.0.0.1', server.port, pem, timeoutMs, false)
    return r.ok ? r : {ok: false, detail: `this host's criu cannot serve TLS: ${r.detail}`}
  } catch (err) {
    return {ok: false, detail: `this host's criu cannot serve TLS: ${(err as Error).message}`}
  } finally {
    server?.stop()
    fs.rmSync(dir, {recursive: true, force: true})
  }
}

function describe(err: NodeJS.ErrnoException, address: string, port: number): string {
  const code = err.code ?? ''
  if (code === 'CERT_NOT_YET_VALID') return `the source's certificate is not yet valid on the target: its clock is more than an hour behind the source's (${err.message})`
  if (code === 'CERT_HAS_EXPIRED') return `the source's certificate has expired on the target: its clock is more than a day ahead of the source's (${err.message})`
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ETIMEDOUT') return `cannot connect to ${address}:${port}: ${err.message}`
  if (code === 'ECONNRESET' || code === 'EPIPE') return `the source's criu page server ended the TLS handshake (it rejected our certificate, or was built without TLS): ${err.message}`
  return `TLS handshake with ${address}:${port} failed: ${code ? `${code}: ` : ''}${err.message}`
}

function logTail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' | ')
  } catch {
    return 'no log'
  }
}

export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, host, () => {
      const {port} = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}
