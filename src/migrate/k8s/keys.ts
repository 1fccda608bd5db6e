// The label and annotations by which a Kubernetes node takes part in `ocirt migrate --to k8s`, all under one
// prefix (docs/migrate-targets.md). A node opts in with the label; the annotations override how to reach it.
export const PREFIX = 'migrate.ocirt.dev'

/** The opt-in label: only nodes labelled `migrate.ocirt.dev/enabled=true` are targets. */
export const ENABLED_LABEL = `${PREFIX}/enabled`

export const ANNOTATION = {
  /** host name or address to ssh to (default: the node's InternalIP, then ExternalIP) */
  sshHost: `${PREFIX}/ssh-host`,
  /** default 22 */
  sshPort: `${PREFIX}/ssh-port`,
  /** default root: restore needs it */
  sshUser: `${PREFIX}/ssh-user`,
  /** the ocirt executable on the node (absolute path) */
  ocirtPath: `${PREFIX}/ocirt-path`,
  /** ocirt's --root on the node (absolute path) */
  root: `${PREFIX}/root`,
  /** where bundles are unpacked on the node (absolute path) */
  bundleDir: `${PREFIX}/bundle-dir`,
  /** an integer; higher is preferred, default 0 */
  priority: `${PREFIX}/priority`,
  /** comma-separated taint keys this node's migrations tolerate (never the node.kubernetes.io/ ones) */
  tolerations: `${PREFIX}/tolerations`,
} as const

/** Taint keys the node lifecycle controller and `kubectl cordon` set: a node with one is never a target. */
export const SYSTEM_TAINT_PREFIX = 'node.kubernetes.io/'
