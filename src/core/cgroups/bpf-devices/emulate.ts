// The cgroup v1 devices controller's state machine, in TypeScript: folds the ordered OCI device rules into the
// state the kernel would hold after the v1 driver wrote them one by one to devices.allow / devices.deny, starting
// from a fresh cgroup under an allow-all parent. The v2 eBPF program is generated from that state, so both
// drivers give a rule list the same meaning, including the kernel's quirks: an "a" rule resets the list; a rule
// for one device in the list's own direction adds an exception (merging access with an identical one); a rule in
// the other direction only takes access away from an exception with exactly the same type, major and minor
// (a wildcard rule does not punch holes into a narrower exception, nor the reverse).
import {InvalidInput, type ErrorContext} from '../../errors'
import type {LinuxDeviceCgroup} from '../types'

/** Access bits as the kernel passes them to a device program (BPF_DEVCG_ACC_*). */
export const ACC = {mknod: 1, read: 2, write: 4} as const
/** Device types as the kernel passes them to a device program (BPF_DEVCG_DEV_*). */
export const DEV = {block: 1, char: 2} as const
/** major or minor matching any number (the kernel's ~0) */
export const ANY = -1

export interface DeviceException {
  type: number
  major: number
  minor: number
  access: number
}

/** defaultAllow: a blacklist (exceptions are denied); otherwise a whitelist (exceptions are allowed). */
export interface DeviceState {
  defaultAllow: boolean
  exceptions: DeviceException[]
}

const MAX_NUMBER = 0xfffffffe // the kernel parses u32 and uses ~0 for "*"

function number(n: number | null | undefined, field: string, ctx: ErrorContext): number {
  if (n === undefined || n === null || n === -1) return ANY
  if (!Number.isInteger(n) || n < 0 || n > MAX_NUMBER) throw new InvalidInput(`${field} must be -1 or an integer from 0 to ${MAX_NUMBER}, got ${n}`, ctx)
  return n
}

function accessBits(access: string | undefined, ctx: ErrorContext): number {
  let bits = 0
  for (const ch of access || 'rwm') {
    if (ch === 'r') bits |= ACC.read
    else if (ch === 'w') bits |= ACC.write
    else if (ch === 'm') bits |= ACC.mknod
    else throw new InvalidInput(`access ${JSON.stringify(access)}: only r, w and m are allowed`, ctx)
  }
  return bits
}

/** The rule's exception, or undefined for a rule on all devices (type "a" or unset). */
function exceptionOf(rule: LinuxDeviceCgroup, ctx: ErrorContext): DeviceException | undefined {
  const t = rule.type
  if (t === undefined || t === null || t === '' || t === 'a') return undefined
  if (t !== 'b' && t !== 'c') throw new InvalidInput(`type ${JSON.stringify(t)}: must be a, b or c`, ctx)
  return {type: t === 'b' ? DEV.block : DEV.char, major: number(rule.major, 'major', ctx), minor: number(rule.minor, 'minor', ctx),
    access: accessBits(rule.access, ctx)}
}

const same = (a: DeviceException, b: DeviceException) => a.type === b.type && a.major === b.major && a.minor === b.minor

/** Folds `rules` in order into the devices controller state; bad rules throw InvalidInput naming the entry. */
export function emulateRules(rules: readonly LinuxDeviceCgroup[], ctx: ErrorContext = {}): DeviceState {
  let defaultAllow = true
  let exceptions: DeviceException[] = []
  rules.forEach((rule, i) => {
    const at = {...ctx, step: `linux.resources.devices[${i}]`}
    if (typeof rule !== 'object' || rule === null) throw new InvalidInput('must be an object', at)
    // a missing allow is false, as Go clients (and the v1 driver) read it
    const allow: unknown = rule.allow ?? false
    if (typeof allow !== 'boolean') throw new InvalidInput(`allow must be true or false, got ${JSON.stringify(allow)}`, at)
    const ex = exceptionOf(rule, at)
    if (!ex) {
      defaultAllow = allow
      exceptions = []
      return
    }
    const old = exceptions.find((e) => same(e, ex))
    if (allow !== defaultAllow) {
      if (old) old.access |= ex.access
      else exceptions.push({...ex})
    } else if (old) {
      old.access &= ~ex.access
      if (old.access === 0) exceptions = exceptions.filter((e) => e !== old)
    }
  })
  return {defaultAllow, exceptions}
}

/**
 * What the v1 controller answers for one access (the reference the eBPF program must agree with): a whitelist
 * needs one exception granting every requested bit; a blacklist refuses if any exception shares one bit.
 */
export function stateAllows(state: DeviceState, dev: {type: number; major: number; minor: number; access: number}): boolean {
  const matching = state.exceptions.filter((e) => e.type === dev.type && (e.major === ANY || e.major === dev.major) &&
    (e.minor === ANY || e.minor === dev.minor))
  if (state.defaultAllow) return !matching.some((e) => (e.access & dev.access) !== 0)
  return matching.some((e) => (dev.access & ~e.access) === 0)
}
