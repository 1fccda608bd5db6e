// What can go wrong on an ssh connection, each with a message a user can act on. All are OcirtErrors at step
// "ssh", so the migrate command reports them like any other failed step.
import {OcirtError} from '../../core/errors'
import type {SshTarget} from './types'

/** user@host:port, with IPv6 addresses in brackets. */
export function describeTarget(t: SshTarget): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host
  return `${t.user}@${host}:${t.port}`
}

export class SshError extends OcirtError {
  readonly target: SshTarget
  constructor(target: SshTarget, detail: string, options?: {cause?: unknown}) {
    super(`${describeTarget(target)}: ${detail}`, {step: 'ssh'}, options)
    this.name = 'SshError'
    this.target = target
  }
}

/** The server's key is not in known_hosts. Nothing was recorded. */
export class HostKeyUnknown extends SshError {
  constructor(target: SshTarget, readonly keyType: string, readonly fingerprint: string, readonly knownHostsFile: string) {
    super(target,
      `host key verification failed: the server's ${keyType} key ${fingerprint} is not in ${knownHostsFile}; ` +
      `check the fingerprint (on the server: ssh-keygen -lf /etc/ssh/ssh_host_${keyType.replace(/^ssh-|-sha2-nistp\d+$/g, '')}_key.pub) ` +
      `and pass --accept-new-host-key to trust it`)
    this.name = 'HostKeyUnknown'
  }
}

/** The server presents a different key than the one recorded: possibly a man-in-the-middle. Always refused. */
export class HostKeyChanged extends SshError {
  constructor(target: SshTarget, readonly keyType: string, readonly fingerprint: string,
    readonly knownFingerprint: string, readonly knownHostsFile: string, readonly line: number) {
    super(target,
      `WARNING: REMOTE HOST KEY HAS CHANGED: the server presents the ${keyType} key ${fingerprint}, but ` +
      `${knownHostsFile}:${line} records ${knownFingerprint} for it. Someone could be intercepting the connection ` +
      `(man-in-the-middle), or the server's key was replaced. Refusing to connect. If the change is expected, remove the ` +
      `old key (ssh-keygen -f ${knownHostsFile} -R '${hostKeyName(target)}') and connect again`)
    this.name = 'HostKeyChanged'
  }
}

/** The server offers a key of a type not recorded for it, while keys of other types are. Refused. */
export class HostKeyTypeChanged extends SshError {
  constructor(target: SshTarget, readonly keyType: string, readonly fingerprint: string, readonly knownTypes: string[],
    readonly knownHostsFile: string, readonly lines: number[]) {
    super(target,
      `WARNING: REMOTE HOST KEY HAS CHANGED: the server presents a ${keyType} key ${fingerprint}, but ` +
      `${knownHostsFile} records only ${knownTypes.join(', ')} keys for it (line ${lines.join(', ')}), which the server ` +
      `did not offer. Refusing to connect. If the change is expected, remove the old keys ` +
      `(ssh-keygen -f ${knownHostsFile} -R '${hostKeyName(target)}') and connect again`)
    this.name = 'HostKeyTypeChanged'
  }
}

/** The server's key is marked @revoked in known_hosts. */
export class HostKeyRevoked extends SshError {
  constructor(target: SshTarget, readonly keyType: string, readonly fingerprint: string, readonly knownHostsFile: string, readonly line: number) {
    super(target, `the server's ${keyType} key ${fingerprint} is marked @revoked in ${knownHostsFile}:${line}; refusing to connect`)
    this.name = 'HostKeyRevoked'
  }
}

/** No offered credential was accepted (or none could be offered). */
export class SshAuthFailed extends SshError {
  constructor(target: SshTarget, readonly tried: string[], detail: string) {
    super(target, detail)
    this.name = 'SshAuthFailed'
  }
}

/** TCP connection, handshake or timeout failures before the session was ready. */
export class SshConnectFailed extends SshError {
  constructor(target: SshTarget, detail: string, options?: {cause?: unknown}) {
    super(target, detail, options)
    this.name = 'SshConnectFailed'
  }
}

/** The connection broke (peer gone, network down, keepalive unanswered) while in use. */
export class SshConnectionLost extends SshError {
  constructor(target: SshTarget, detail: string, options?: {cause?: unknown}) {
    super(target, `connection lost: ${detail}`, options)
    this.name = 'SshConnectionLost'
  }
}

/** A channel request (exec, forwarding) was refused or failed. */
export class SshChannelFailed extends SshError {
  constructor(target: SshTarget, detail: string, options?: {cause?: unknown}) {
    super(target, detail, options)
    this.name = 'SshChannelFailed'
  }
}

/** run(..., {timeoutMs}) expired; the remote process was signalled and its channel closed. */
export class RemoteCommandTimeout extends SshError {
  constructor(target: SshTarget, readonly command: string, readonly timeoutMs: number, readonly stdout: string, readonly stderr: string) {
    super(target, `remote command timed out after ${timeoutMs} ms: ${command}`)
    this.name = 'RemoteCommandTimeout'
  }
}

function hostKeyName(t: SshTarget): string {
  return t.port === 22 ? t.host : `[${t.host}]:${t.port}`
}
