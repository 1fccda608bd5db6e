// Where `ocirt migrate --to X` goes: X parsed into a TargetSpec (pure, no I/O), and the ResolvedTarget the
// orchestration finally connects to. The grammar, in the order it is tried (docs/migrate-targets.md):
//
//   k8s | k8s:<node>                      a Kubernetes node (src/migrate/k8s/)
//   ssh://[user@]host[:port]              ssh, URL form (the only way to say "ssh" explicitly)
//   <scheme>:<rest>                       answered by a plugin's migrate:target hook (src/migrate/target-hook.ts);
//                                         scheme is [a-z][a-z0-9-]*; rest is non-empty and does not start
//                                         like a number (that is a port); the whole is not an IPv6 address
//   [user@]host[:port]                    ssh: a hostname or IPv4 address
//   [user@][v6addr][:port]                ssh: an IPv6 address in brackets, with or without a port
//   [user@]v6addr                         ssh: a bare IPv6 address, never with a port
import {isIPv4, isIPv6} from 'node:net'
import {InvalidInput, type ErrorContext} from '../core/errors'

export type TargetSpec =
  | {kind: 'ssh'; host: string; port?: number; user?: string}
  | {kind: 'k8s'; node?: string}
  | {kind: 'plugin'; scheme: string; rest: string}

/** What the orchestration finally connects to, with the per-target overrides a node annotation or plugin may give. */
export interface ResolvedTarget {
  host: string
  port: number
  user: string
  /** for humans, e.g. "k8s node worker-2 (10.0.0.5:22)" */
  label: string
  /** the ocirt executable on the target (default: `ocirt` in the remote PATH) */
  remoteOcirt?: string
  /** the target's --root */
  remoteRoot?: string
  /** where the bundle is unpacked on the target */
  remoteBundleDir?: string
  /** the Kubernetes node this target is, when it came from `k8s` */
  nodeName?: string
}

export const DEFAULT_SSH_PORT = 22

const SCHEME = /^[a-z][a-z0-9-]*$/
// RFC 1123 hostnames: labels of letters, digits and inner hyphens
const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/
// a Kubernetes object name: a DNS-1123 subdomain
const K8S_NAME = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/
// what OpenSSH accepts as a user name without quoting, and no more
const USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/

export function parseTarget(to: string, ctx: ErrorContext = {verb: 'migrate'}): TargetSpec {
  const fail = (why: string): never => {
    throw new InvalidInput(`--to ${JSON.stringify(to)}: ${why}`, ctx)
  }
  if (typeof to !== 'string' || to.trim() === '') fail('no target given (expected [user@]host[:port], k8s[:node] or scheme:value)')
  if (to !== to.trim() || /\s/.test(to)) fail('a target has no spaces')
  if (to.startsWith('-')) fail('a target cannot start with "-"')

  if (to === 'k8s') return {kind: 'k8s'}
  if (to.startsWith('k8s:')) {
    const node = to.slice(4)
    if (node === '') fail('no node name after "k8s:" (use "k8s" to let ocirt choose a node)')
    if (node.length > 253 || !K8S_NAME.test(node)) fail(`"${node}" is not a Kubernetes node name (lower-case letters, digits, "-" and ".")`)
    return {kind: 'k8s', node}
  }
  if (to.startsWith('ssh://')) return parseSsh(to.slice(6), fail, true)

  const colon = to.indexOf(':')
  if (colon > 0 && !to.slice(0, colon).includes('@') && !isIPv6(to)) {
    const scheme = to.slice(0, colon)
    const rest = to.slice(colon + 1)
    // a rest that starts like a number is a (mistyped) port, never a plugin's value: "host:22x" says so
    if (SCHEME.test(scheme) && !/^[-+]?\d/.test(rest) && rest !== '') {
      if (scheme === 'ssh') fail('write an ssh target as [user@]host[:port] or ssh://[user@]host[:port]')
      return {kind: 'plugin', scheme, rest}
    }
  }
  return parseSsh(to, fail, false)
}

function parseSsh(text: string, fail: (why: string) => never, url: boolean): TargetSpec {
  let user: string | undefined
  let hostPort = text
  const at = text.lastIndexOf('@')
  if (at >= 0) {
    user = text.slice(0, at)
    hostPort = text.slice(at + 1)
    if (user === '') fail('empty user name before "@"')
    if (!USER.test(user)) fail(`"${user}" is not a valid user name`)
  }
  if (url && hostPort.endsWith('/')) hostPort = hostPort.slice(0, -1)
  if (hostPort === '') fail('no host')

  let host: string
  let portText: string | undefined
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']')
    if (close < 0) fail('"[" without "]" around an IPv6 address')
    host = hostPort.slice(1, close)
    const after = hostPort.slice(close + 1)
    if (after !== '') {
      if (!after.startsWith(':')) fail(`unexpected "${after}" after "]" (expected ":port")`)
      portText = after.slice(1)
    }
    if (!isIPv6(host)) fail(`"${host}" is not an IPv6 address`)
  } else if (hostPort.indexOf(':') !== hostPort.lastIndexOf(':')) {
    // two or more colons: a bare IPv6 address, which cannot carry a port (write [addr]:port)
    host = hostPort
    if (!isIPv6(host)) fail(`"${host}" is not an IPv6 address (a port after an IPv6 address needs brackets: [addr]:port)`)
    if (url) fail('an IPv6 address in an ssh:// URL needs brackets: ssh://[addr]:port')
  } else {
    const colon = hostPort.indexOf(':')
    host = colon < 0 ? hostPort : hostPort.slice(0, colon)
    if (colon >= 0) portText = hostPort.slice(colon + 1)
    if (host === '') fail('no host before ":"')
    if (!isIPv4(host) && !isHostname(host)) fail(`"${host}" is not a host name or IP address`)
  }

  const spec: TargetSpec = {kind: 'ssh', host}
  if (portText !== undefined) spec.port = parsePort(portText, fail)
  if (user !== undefined) spec.user = user
  return spec
}

function isHostname(host: string): boolean {
  const name = host.endsWith('.') ? host.slice(0, -1) : host
  return name.length > 0 && name.length <= 253 && name.split('.').every((l) => HOST_LABEL.test(l))
}

/** A TCP port: decimal digits only, 1-65535. */
export function parsePort(text: string, fail: (why: string) => never): number {
  if (text === '') fail('no port after ":"')
  if (!/^\d+$/.test(text)) fail(`port "${text}" is not a number`)
  const port = Number(text)
  if (port < 1 || port > 65535) fail(`port ${text} is out of range (1-65535)`)
  return port
}

/** The target of an ssh spec: port 22 and `defaultUser` unless the spec says otherwise. */
export function sshTarget(spec: {host: string; port?: number; user?: string}, defaultUser = 'root'): ResolvedTarget {
  const port = spec.port ?? DEFAULT_SSH_PORT
  const user = spec.user ?? defaultUser
  return {host: spec.host, port, user, label: `ssh ${user}@${hostPort(spec.host, port)}`}
}

/** "host:port", with brackets around an IPv6 address. */
export function hostPort(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`
}
