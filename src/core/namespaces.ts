// NAMESPACES: the OCI namespace types this runtime knows, their CLONE_NEW* flags and /proc/<pid>/ns file
// names. The init planner, validate.ts and `features` read this one table; the id maps live in userns.ts.

export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time'

export interface NamespaceInfo {
  /** CLONE_NEW* value for clone(2)/unshare(2)/setns(2) */
  flag: number
  /** file name under /proc/<pid>/ns/ */
  file: string
}

// Values from <linux/sched.h>. All of them fit in 31 bits, so plain numbers and `|` are safe.
export const NAMESPACES: Readonly<Record<NamespaceType, NamespaceInfo>> = {
  mount: {flag: 0x00020000, file: 'mnt'},
  cgroup: {flag: 0x02000000, file: 'cgroup'},
  uts: {flag: 0x04000000, file: 'uts'},
  ipc: {flag: 0x08000000, file: 'ipc'},
  user: {flag: 0x10000000, file: 'user'},
  pid: {flag: 0x20000000, file: 'pid'},
  network: {flag: 0x40000000, file: 'net'},
  // Linux 5.6; a new time namespace applies to the children of the process that unshared it
  time: {flag: 0x00000080, file: 'time'},
}

export function isNamespaceType(type: unknown): type is NamespaceType {
  return typeof type === 'string' && Object.prototype.hasOwnProperty.call(NAMESPACES, type)
}

/** OR of the CLONE_NEW* flags of `types` (unknown types are the validator's business and are skipped). */
export function cloneFlagsFor(types: Iterable<string>): number {
  let flags = 0
  for (const t of types) if (isNamespaceType(t)) flags |= NAMESPACES[t].flag
  return flags
}

/** The /proc/<pid>/ns/ file name of an OCI namespace type ("network" → "net", "mount" → "mnt"). */
export function nsFileName(type: NamespaceType): string {
  return NAMESPACES[type].file
}

/** Namespace types in the sorted order `runc features` prints them. */
export function namespaceTypes(): NamespaceType[] {
  return (Object.keys(NAMESPACES) as NamespaceType[]).sort()
}
