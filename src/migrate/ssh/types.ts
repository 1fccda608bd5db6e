// The shapes the migration orchestration programs against (src/migrate/orchestrate*).

export interface SshTarget {
  host: string
  port: number
  user: string
}

export interface SshAuthOptions {
  /** -i FILE (repeatable); when none: ~/.ssh/id_ed25519, id_ecdsa, id_rsa that exist */
  identityFiles?: string[]
  /** ssh-agent socket; default process.env.SSH_AUTH_SOCK; false: no agent */
  agent?: string | false
  /** default $HOME/.ssh/known_hosts */
  knownHostsFile?: string
  /** record an UNKNOWN key in knownHostsFile and go on; a CHANGED key is always refused */
  acceptNewHostKey?: boolean
  /** TCP connect + handshake + authentication; default 10000 */
  connectTimeoutMs?: number
}

export interface ExitStatus {
  code: number | null
  /** the signal that ended the remote process, as SIGNAME */
  signal?: string
}

export interface RunResult extends ExitStatus {
  stdout: string
  stderr: string
}

export interface SshSession {
  readonly target: SshTarget
  /** runs argv on the remote (each word shell-quoted safely for a POSIX sh; no word splitting surprises) */
  exec(argv: string[], opts?: {env?: Record<string, string>}): Promise<RemoteProcess>
  /** exec, feed stdin (optional), collect output; resolves with the exit status, never rejects on a non-zero exit */
  run(argv: string[], opts?: {stdin?: string | Buffer; timeoutMs?: number}): Promise<RunResult>
  /** a listener on 127.0.0.1:<port> here whose connections are tunnelled (direct-tcpip) to remoteHost:remotePort as seen from the remote */
  forwardToRemote(remoteHost: string, remotePort: number): Promise<Tunnel>
  /** the remote sshd listens on 127.0.0.1:<port> there (tcpip-forward, port chosen by the server) and its connections reach localHost:localPort here */
  forwardFromRemote(localHost: string, localPort: number): Promise<Tunnel>
  /** called once when the connection ends, with the error if it broke */
  onClose(cb: (err?: Error) => void): void
  /** the TCP connection's descriptor, for socket options Node lacks (undefined once closed) */
  socketFd(): number | undefined
  close(): Promise<void>
}

export interface RemoteProcess {
  stdin: NodeJS.WritableStream
  stdout: NodeJS.ReadableStream
  stderr: NodeJS.ReadableStream
  /** resolves when the channel has closed (all output delivered); rejects with SshConnectionLost if the connection broke first */
  exit: Promise<ExitStatus>
  /** ssh "signal" request, and closes the channel */
  kill(signal?: string): void
}

export interface Tunnel {
  /** the port listening here (forwardToRemote) or on the remote's 127.0.0.1 (forwardFromRemote) */
  port: number
  /** bytes carried: in = arrived from the other end of the tunnel, out = sent to it */
  bytes(): {in: number; out: number}
  close(): Promise<void>
}
