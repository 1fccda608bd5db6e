// Which Kubernetes nodes may receive a migrated container, and why not (pure: nodes in, verdicts out).
// A node is eligible when all of these hold (docs/migrate-targets.md):
//   - it is not this node: neither named selfNode nor owning one of this machine's addresses
//   - it opts in: label migrate.ocirt.dev/enabled=true
//   - condition Ready=True
//   - not cordoned (spec.unschedulable)
//   - no NoSchedule/NoExecute taint, except those whose key the node lists in migrate.ocirt.dev/tolerations
//     (node.kubernetes.io/* taints, which mean trouble or a cordon, cannot be tolerated); PreferNoSchedule is ignored
//   - its annotations are well-formed, and it has an address to ssh to
// Eligible nodes come first, by priority (higher first) then name; the others follow by name.
import {ANNOTATION, ENABLED_LABEL, SYSTEM_TAINT_PREFIX} from './keys'
import {DEFAULT_SSH_PORT, hostPort, type ResolvedTarget} from '../target'

/** The parts of a core/v1 Node that the choice reads (a V1Node from @kubernetes/client-node fits). */
export interface V1NodeLike {
  metadata?: {name?: string; labels?: Record<string, string>; annotations?: Record<string, string>}
  spec?: {unschedulable?: boolean; taints?: {key: string; value?: string; effect: string}[]}
  status?: {
    conditions?: {type: string; status: string; reason?: string; message?: string}[]
    addresses?: {type: string; address: string}[]
  }
}

export interface NodeVerdict {
  node: string
  eligible: boolean
  /** "eligible" or every reason it is not, joined by "; " */
  why: string
  target?: ResolvedTarget
  priority: number
}

export interface JudgeOptions {
  /** this machine's node name: never a target */
  selfNode?: string
  /** this machine's addresses: a node owning one is this machine */
  selfAddresses?: string[]
  /** judge only this node (a verdict "unknown node" when it is not among the nodes) */
  wanted?: string
}

const DEFAULT_USER = 'root'

export function judgeNodes(nodes: V1NodeLike[], opts: JudgeOptions = {}): NodeVerdict[] {
  let judged = nodes.map((n) => judgeNode(n, opts))
  if (opts.wanted !== undefined) {
    judged = judged.filter((v) => v.node === opts.wanted)
    if (judged.length === 0) {
      judged = [{node: opts.wanted, eligible: false, why: `unknown node: the cluster has no node named "${opts.wanted}"`, priority: 0}]
    }
  }
  return judged.sort(byPreference)
}

function byPreference(a: NodeVerdict, b: NodeVerdict): number {
  if (a.eligible !== b.eligible) return a.eligible ? -1 : 1
  if (a.eligible && a.priority !== b.priority) return b.priority - a.priority
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0
}

function judgeNode(node: V1NodeLike, opts: JudgeOptions): NodeVerdict {
  const name = node.metadata?.name ?? ''
  const labels = node.metadata?.labels ?? {}
  const notes = node.metadata?.annotations ?? {}
  const reasons: string[] = []

  const self = selfReason(node, name, opts)
  if (self) reasons.push(self)

  const enabled = labels[ENABLED_LABEL]
  if (enabled === undefined) reasons.push(`no label ${ENABLED_LABEL}=true`)
  else if (enabled !== 'true') reasons.push(`label ${ENABLED_LABEL} is "${enabled}", not "true"`)

  const ready = (node.status?.conditions ?? []).find((c) => c.type === 'Ready')
  const notReady = ready?.status !== 'True'
  if (!ready) reasons.push('NotReady (no Ready condition)')
  else if (notReady) reasons.push(`NotReady (Ready=${ready.status}${ready.reason ? `: ${ready.reason}` : ''}${ready.message ? `: ${ready.message}` : ''})`)

  const cordoned = node.spec?.unschedulable === true
  if (cordoned) reasons.push('cordoned (spec.unschedulable=true)')

  const tolerated = new Set((notes[ANNOTATION.tolerations] ?? '').split(',').map((k) => k.trim()).filter(Boolean))
  for (const taint of node.spec?.taints ?? []) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue
    const system = taint.key.startsWith(SYSTEM_TAINT_PREFIX)
    if (!system && tolerated.has(taint.key)) continue
    // the taints that only restate a reason given above
    if (cordoned && taint.key === `${SYSTEM_TAINT_PREFIX}unschedulable`) continue
    if (notReady && (taint.key === `${SYSTEM_TAINT_PREFIX}not-ready` || taint.key === `${SYSTEM_TAINT_PREFIX}unreachable`)) continue
    reasons.push(`tainted ${taint.key}${taint.value ? `=${taint.value}` : ''}:${taint.effect}`)
  }

  const overrides = readAnnotations(notes, reasons)
  const host = overrides.host ?? firstAddress(node, 'InternalIP') ?? firstAddress(node, 'ExternalIP')
  if (!host) reasons.push(`no address to ssh to (no ${ANNOTATION.sshHost} annotation, InternalIP or ExternalIP)`)

  if (reasons.length > 0) return {node: name, eligible: false, why: reasons.join('; '), priority: overrides.priority}
  const port = overrides.port ?? DEFAULT_SSH_PORT
  const target: ResolvedTarget = {host: host!, port, user: overrides.user ?? DEFAULT_USER, label: `k8s node ${name} (${hostPort(host!, port)})`, nodeName: name}
  if (overrides.remoteOcirt) target.remoteOcirt = overrides.remoteOcirt
  if (overrides.remoteRoot) target.remoteRoot = overrides.remoteRoot
  if (overrides.remoteBundleDir) target.remoteBundleDir = overrides.remoteBundleDir
  return {node: name, eligible: true, why: 'eligible', target, priority: overrides.priority}
}

function selfReason(node: V1NodeLike, name: string, opts: JudgeOptions): string | undefined {
  if (opts.selfNode && name.toLowerCase() === opts.selfNode.toLowerCase()) return `it is this node (this machine is node "${opts.selfNode}")`
  const mine = new Set((opts.selfAddresses ?? []).map((a) => a.toLowerCase()))
  const theirs = (node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP').map((a) => a.address)
  const sshHost = node.metadata?.annotations?.[ANNOTATION.sshHost]
  if (sshHost) theirs.push(sshHost)
  const shared = theirs.find((a) => mine.has(a.toLowerCase()))
  return shared ? `it is this node (its address ${shared} is this machine's)` : undefined
}

interface Overrides {
  host?: string
  port?: number
  user?: string
  remoteOcirt?: string
  remoteRoot?: string
  remoteBundleDir?: string
  priority: number
}

/** The node's migrate.ocirt.dev/ annotations; each malformed one adds a reason. */
function readAnnotations(notes: Record<string, string>, reasons: string[]): Overrides {
  const bad = (key: string, why: string) => reasons.push(`annotation ${key}: ${why}`)
  const out: Overrides = {priority: 0}

  const host = notes[ANNOTATION.sshHost]?.trim()
  if (host !== undefined) {
    if (host === '' || /[\s/@]/.test(host) || host.startsWith('-')) bad(ANNOTATION.sshHost, `"${host}" is not a host name or address`)
    else out.host = host.replace(/^\[(.*)\]$/, '$1')
  }
  const port = notes[ANNOTATION.sshPort]?.trim()
  if (port !== undefined) {
    const n = /^\d+$/.test(port) ? Number(port) : NaN
    if (!(n >= 1 && n <= 65535)) bad(ANNOTATION.sshPort, `"${port}" is not a port (1-65535)`)
    else out.port = n
  }
  const user = notes[ANNOTATION.sshUser]?.trim()
  if (user !== undefined) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/.test(user)) bad(ANNOTATION.sshUser, `"${user}" is not a user name`)
    else out.user = user
  }
  const paths: [string, 'remoteOcirt' | 'remoteRoot' | 'remoteBundleDir'][] = [
    [ANNOTATION.ocirtPath, 'remoteOcirt'],
    [ANNOTATION.root, 'remoteRoot'],
    [ANNOTATION.bundleDir, 'remoteBundleDir'],
  ]
  for (const [key, field] of paths) {
    const value = notes[key]?.trim()
    if (value === undefined) continue
    if (!value.startsWith('/') || /[\s\0]/.test(value)) bad(key, `"${value}" is not an absolute path`)
    else out[field] = value
  }
  const priority = notes[ANNOTATION.priority]?.trim()
  if (priority !== undefined) {
    if (!/^[-+]?\d{1,9}$/.test(priority)) bad(ANNOTATION.priority, `"${priority}" is not an integer`)
    else out.priority = Number(priority)
  }
  return out
}

function firstAddress(node: V1NodeLike, type: 'InternalIP' | 'ExternalIP'): string | undefined {
  return node.status?.addresses?.find((a) => a.type === type && a.address)?.address
}
