// RLIMITS: the RLIMIT_* resource numbers of Linux (asm-generic/resource.h, also x86_64), and the turning of
// spec rlimits into {resource, soft, hard} for the helper's setrlimit calls.
import {InvalidInput, type ErrorContext} from '../errors'
import type {POSIXRlimit} from '../spec/types'

export const RLIMITS: Readonly<Record<string, number>> = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
}

/** RLIM_INFINITY: (rlim_t)-1 */
export const RLIM_INFINITY = (1n << 64n) - 1n

export interface Rlimit {
  resource: number
  soft: bigint
  hard: bigint
}

export function isRlimitType(type: unknown): type is string {
  return typeof type === 'string' && Object.prototype.hasOwnProperty.call(RLIMITS, type)
}

/**
 * A limit from config.json as a u64, or undefined when it is not a non-negative integer. JSON numbers lose
 * precision above 2^53, so RLIM_INFINITY (18446744073709551615) arrives as 2^64: anything at or above 2^64
 * means infinity.
 */
export function rlimitValue(v: unknown): bigint | undefined {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return undefined
  const b = BigInt(v)
  return b > RLIM_INFINITY ? RLIM_INFINITY : b
}

/** Spec rlimits → setrlimit arguments, in config order (a repeated type is set twice; the last wins). */
export function toRlimits(rlimits: readonly POSIXRlimit[], ctx: ErrorContext = {}, where = 'process.rlimits'): Rlimit[] {
  return rlimits.map((r, i) => {
    if (!isRlimitType(r.type)) throw new InvalidInput(`${where}[${i}].type: unknown rlimit ${JSON.stringify(r.type)}`, ctx)
    const soft = rlimitValue(r.soft)
    const hard = rlimitValue(r.hard)
    if (soft === undefined) throw new InvalidInput(`${where}[${i}].soft: must be a non-negative integer`, ctx)
    if (hard === undefined) throw new InvalidInput(`${where}[${i}].hard: must be a non-negative integer`, ctx)
    if (soft > hard) throw new InvalidInput(`${where}[${i}]: soft limit ${soft} exceeds hard limit ${hard}`, ctx)
    return {resource: RLIMITS[r.type], soft, hard}
  })
}
