// TCP tunnels over one ssh connection, in both directions, each counting the bytes it carries.
//   toRemote:   127.0.0.1:<port> here  ─direct-tcpip─►  remoteHost:remotePort as the remote sees it
//   fromRemote: 127.0.0.1:<port> on the remote (tcpip-forward, port chosen by sshd)  ─►  localHost:localPort here
import * as net from 'node:net'
import type {Client, ClientChannel, TcpConnectionDetails} from 'ssh2'
import {SshChannelFailed} from './errors'
import type {SshTarget, Tunnel} from './types'

interface Counters {
  in: number
  out: number
}

interface Incoming {
  localHost: string
  localPort: number
  counters: Counters
  live: Set<net.Socket>
}

export class TunnelRegistry {
  private readonly open = new Set<Tunnel>()
  private readonly incoming = new Map<number, Incoming>()
  private listening = false

  constructor(private readonly client: Client, private readonly target: SshTarget) {}

  async toRemote(remoteHost: string, remotePort: number): Promise<Tunnel> {
    const counters: Counters = {in: 0, out: 0}
    const live = new Set<net.Socket>()
    // half-open: a client's EOF is passed on as a channel EOF, and the answer still flows back
    const server = net.createServer({allowHalfOpen: true}, (sock) => {
      live.add(sock)
      sock.on('close', () => live.delete(sock))
      sock.on('error', () => {})
      sock.pause()
      try {
        this.client.forwardOut('127.0.0.1', sock.remotePort ?? 0, remoteHost, remotePort, (err, channel) => {
          if (err) {
            process.emitWarning(`ssh tunnel to ${remoteHost}:${remotePort} via ${this.target.host}: ${err.message}`)
            return void sock.destroy()
          }
          splice(sock, channel, counters)
          sock.resume()
        })
      } catch {
        sock.destroy()
      }
    })
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', (e) => reject(new SshChannelFailed(this.target, `cannot listen on 127.0.0.1 for a tunnel: ${e.message}`, {cause: e})))
      server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port))
    })
    const tunnel: Tunnel = {
      port,
      bytes: () => ({...counters}),
      close: () => {
        this.open.delete(tunnel)
        for (const s of live) s.destroy()
        return new Promise<void>((resolve) => server.close(() => resolve()))
      },
    }
    this.open.add(tunnel)
    return tunnel
  }

  async fromRemote(localHost: string, localPort: number): Promise<Tunnel> {
    this.listen()
    const port = await new Promise<number>((resolve, reject) => {
      try {
        this.client.forwardIn('127.0.0.1', 0, (err, p) => {
          if (err) reject(new SshChannelFailed(this.target, `the server refused to listen for a reverse tunnel (AllowTcpForwarding?): ${err.message}`, {cause: err}))
          else resolve(p)
        })
      } catch (e) {
        reject(new SshChannelFailed(this.target, `cannot request a reverse tunnel: ${(e as Error).message}`, {cause: e}))
      }
    })
    const entry: Incoming = {localHost, localPort, counters: {in: 0, out: 0}, live: new Set()}
    this.incoming.set(port, entry)
    const tunnel: Tunnel = {
      port,
      bytes: () => ({...entry.counters}),
      close: () => {
        this.open.delete(tunnel)
        this.incoming.delete(port)
        for (const s of entry.live) s.destroy()
        return new Promise<void>((resolve) => {
          try {
            this.client.unforwardIn('127.0.0.1', port, () => resolve())
          } catch {
            resolve() // not connected any more: nothing listens there
          }
        })
      },
    }
    this.open.add(tunnel)
    return tunnel
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.open].map((t) => t.close()))
  }

  /** One dispatcher for forwarded connections, by the remote port they arrived on. */
  private listen(): void {
    if (this.listening) return
    this.listening = true
    this.client.on('tcp connection', (info: TcpConnectionDetails, accept: () => ClientChannel, reject: () => void) => {
      const entry = this.incoming.get(info.destPort)
      if (!entry) return reject()
      const channel = accept()
      const sock = net.connect({port: entry.localPort, host: entry.localHost, allowHalfOpen: true})
      entry.live.add(sock)
      sock.on('close', () => entry.live.delete(sock))
      splice(sock, channel, entry.counters)
    })
  }
}

/** Join a local socket and an ssh channel both ways: bytes from the socket go out, bytes from the channel come in. */
function splice(sock: net.Socket, channel: ClientChannel, counters: Counters): void {
  sock.on('data', (d: Buffer) => (counters.out += d.length))
  channel.on('data', (d: Buffer) => (counters.in += d.length))
  sock.pipe(channel)
  channel.pipe(sock)
  sock.on('error', () => channel.close())
  channel.on('error', () => sock.destroy())
  sock.on('close', () => channel.close())
  channel.on('close', () => sock.destroy())
}
