// CAPS: Linux capability names and numbers (Linux 6.x, <linux/capability.h>), and their turning into the
// 64-bit masks the helper hands to capset/prctl. validate.ts and `features` read the same table.
import * as fs from 'node:fs'
import {InvalidInput, type ErrorContext} from '../errors'

export const CAPS: Readonly<Record<string, number>> = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14,
  CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16,
  CAP_SYS_RAWIO: 17,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_BOOT: 22,
  CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24,
  CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26,
  CAP_MKNOD: 27,
  CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29,
  CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31,
  CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33,
  CAP_SYSLOG: 34,
  CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
  CAP_CHECKPOINT_RESTORE: 40,
}

/** The highest capability number in CAPS. */
export const CAP_MAX = 40

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k)

export function isCapability(name: unknown): name is string {
  return typeof name === 'string' && hasOwn(CAPS, name)
}

/** Capability names in numeric order (the order `runc features` prints). */
export function capNames(): string[] {
  return Object.keys(CAPS).sort((a, b) => CAPS[a] - CAPS[b])
}

let cachedLastCap: number | undefined

/**
 * The running kernel's highest capability (/proc/sys/kernel/cap_last_cap), read once. When /proc is
 * unreadable the table's maximum is assumed.
 */
export function lastCap(): number {
  if (cachedLastCap === undefined) {
    let n = NaN
    try {
      n = Number.parseInt(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim(), 10)
    } catch {
      // no /proc: fall back to the table
    }
    cachedLastCap = Number.isInteger(n) && n >= 0 ? n : CAP_MAX
  }
  return cachedLastCap
}

/**
 * The mask of `names`; `where` is the config path of the list ("process.capabilities.bounding") and names
 * the entry of an unknown capability. A capability the table knows but the running kernel does not
 * (number above lastCap()) is left out of the mask, as runc ignores "unavailable" capabilities: capset and
 * PR_CAPBSET_DROP reject bits the kernel does not have.
 */
export function capMask(names: readonly string[], where = 'capabilities', ctx: ErrorContext = {}): bigint {
  const last = lastCap()
  let mask = 0n
  names.forEach((name, i) => {
    if (!isCapability(name)) throw new InvalidInput(`${where}[${i}]: unknown capability ${JSON.stringify(name)}`, ctx)
    const bit = CAPS[name]
    if (bit <= last) mask |= 1n << BigInt(bit)
  })
  return mask
}

/** Names of the capabilities set in `mask`, in numeric order (for logs and tests). */
export function capsOf(mask: bigint): string[] {
  return capNames().filter((n) => (mask >> BigInt(CAPS[n])) & 1n)
}
