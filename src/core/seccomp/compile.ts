// The OCI seccomp object → a BPF program for the helper to load. Two halves: planFilter turns the JSON into
// numbers and rules (pure; every error names the field), buildBpf hands them to libseccomp and exports the
// program. What runc does, in ocirt's words:
//  - a syscall name libseccomp does not know is skipped (it may not exist on this architecture);
//  - a rule whose action is the default action is skipped (libseccomp refuses it, and it changes nothing);
//  - several conditions on one argument cannot be ANDed by libseccomp: each becomes a rule of its own (OR);
//  - ERRNO and TRACE return errnoRet (defaultErrnoRet for the default action), EPERM when absent;
//  - SCMP_ACT_NOTIFY needs listenerPath, and the filter is then loaded with SECCOMP_FILTER_FLAG_NEW_LISTENER;
//  - a restrictive default action gets the ENOSYS stub in front (enosys.ts): calls newer than the profile fail
//    with ENOSYS, so libc falls back, instead of meeting the default action.
import {InvalidInput, OcirtError} from '../errors'
import type {LinuxSeccomp} from '../spec/types'
import {errnoName} from '../init/session'
import {ACTIONS, ACTIONS_WITH_VALUE, ARCHS, EPERM, FLAG_NEW_LISTENER, FLAGS, OPERATORS, type ActionName, type ArchName, type FlagName, type OperatorName} from './vocabulary'
import {loadLibseccomp, type ArgCondition, type Libseccomp} from './libseccomp'
import {AUDIT_ARCH_X86_64, enosysStub, type ArchLimit} from './enosys'
import {debug} from '../log'

type Ctx = {verb: string; id: string}

export interface FilterRule {
  /** linux.seccomp.syscalls[i], for errors */
  where: string
  names: string[]
  action: number
  /** each entry is one libseccomp rule per name: its conditions are ANDed, entries are ORed */
  conditionSets: ArgCondition[][]
}

export interface FilterPlan {
  defaultAction: number
  /** libseccomp names of the architectures to add beside the native one */
  archs: {name: string; where: string}[]
  rules: FilterRule[]
  /** SECCOMP_FILTER_FLAG_* for seccomp(2) */
  flags: number
  listener?: Listener
  /** put the ENOSYS stub in front (not for a permissive default, nor when the default already says ENOSYS) */
  enosysStub: boolean
}

export interface Listener {
  path: string
  metadata: string
}

export interface CompiledSeccomp {
  flags: number
  /** struct sock_filter[] as the kernel takes it */
  bpf: Buffer
  listener?: Listener
  /** names libseccomp did not know, skipped */
  skipped: string[]
}

// The helper sends the SECCOMP_FD frame (send(2), the sendto syscall) after the filter is loaded and before anyone
// holds the listener: a notified send would wait for an answer that cannot come.
const NEVER_NOTIFIED = ['send', 'sendto']

const ENOSYS = 38
const EEXIST = 17
/** SECCOMP_FILTER_FLAG_TSYNC_ESRCH */
const TSYNC_ESRCH = 16

/** A 16-bit errno/trace value for actions that carry one. */
function actionValue(name: ActionName, ret: unknown, where: string, ctx: Ctx): number {
  const base = ACTIONS[name]
  if (!ACTIONS_WITH_VALUE.includes(name)) {
    if (ret !== undefined) throw new InvalidInput(`${where}: errnoRet is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not ${name}`, ctx)
    return base
  }
  const value = ret ?? EPERM
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 0xffff) {
    throw new InvalidInput(`${where}: must be an integer from 0 to 65535, got ${JSON.stringify(value)}`, ctx)
  }
  return (base | (value as number)) >>> 0
}

function actionName(v: unknown, where: string, ctx: Ctx): ActionName {
  if (typeof v === 'string' && v in ACTIONS) return v as ActionName
  throw new InvalidInput(`${where}: unknown action ${JSON.stringify(v)}`, ctx)
}

function datum(v: unknown, where: string, ctx: Ctx): bigint {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return BigInt(v)
  if (typeof v === 'bigint' && v >= 0n && v < 1n << 64n) return v
  throw new InvalidInput(`${where}: must be an unsigned integer, got ${JSON.stringify(v)}`, ctx)
}

function conditionSets(args: NonNullable<LinuxSeccomp['syscalls']>[number]['args'], where: string, ctx: Ctx): ArgCondition[][] {
  if (!args?.length) return [[]]
  const conds = args.map((a, j) => {
    const at = `${where}.args[${j}]`
    if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5) throw new InvalidInput(`${at}.index: must be 0 to 5, got ${JSON.stringify(a.index)}`, ctx)
    if (!(a.op in OPERATORS)) throw new InvalidInput(`${at}.op: unknown operator ${JSON.stringify(a.op)}`, ctx)
    return {arg: a.index, op: OPERATORS[a.op as OperatorName], a: datum(a.value, `${at}.value`, ctx), b: datum(a.valueTwo ?? 0, `${at}.valueTwo`, ctx)}
  })
  const perArg = new Set(conds.map((c) => c.arg))
  return perArg.size === conds.length ? [conds] : conds.map((c) => [c])
}

/** Resolves the vocabulary and checks the shape; no libseccomp yet. */
export function planFilter(sc: LinuxSeccomp, ctx: Ctx): FilterPlan {
  const defName = actionName(sc.defaultAction, 'linux.seccomp.defaultAction', ctx)
  if (defName === 'SCMP_ACT_NOTIFY') throw new InvalidInput('linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action (the runtime itself would wait on the listener)', ctx)
  const defaultAction = actionValue(defName, sc.defaultErrnoRet, 'linux.seccomp.defaultErrnoRet', ctx)

  const archs = (sc.architectures ?? []).map((a, i) => {
    const where = `linux.seccomp.architectures[${i}]`
    if (!(a in ARCHS)) throw new InvalidInput(`${where}: unknown architecture ${JSON.stringify(a)}`, ctx)
    return {name: ARCHS[a as ArchName], where}
  })

  let flags = 0
  ;(sc.flags ?? []).forEach((f, i) => {
    if (!(f in FLAGS)) throw new InvalidInput(`linux.seccomp.flags[${i}]: unknown flag ${JSON.stringify(f)} (known: ${Object.keys(FLAGS).join(', ')})`, ctx)
    flags |= FLAGS[f as FlagName]
  })

  let notify = false
  const rules: FilterRule[] = (sc.syscalls ?? []).map((s, i) => {
    const where = `linux.seccomp.syscalls[${i}]`
    if (!Array.isArray(s.names) || s.names.length === 0) throw new InvalidInput(`${where}.names: must not be empty`, ctx)
    const name = actionName(s.action, `${where}.action`, ctx)
    if (name === 'SCMP_ACT_NOTIFY') {
      notify = true
      const refused = s.names.find((n) => NEVER_NOTIFIED.includes(n))
      if (refused) throw new InvalidInput(`${where}.names: SCMP_ACT_NOTIFY cannot be used for ${refused} (the runtime needs it to hand the listener over)`, ctx)
    }
    return {where, names: s.names, action: actionValue(name, s.errnoRet, `${where}.errnoRet`, ctx), conditionSets: conditionSets(s.args, where, ctx)}
  })

  let listener: Listener | undefined
  if (notify) {
    if (!sc.listenerPath) throw new InvalidInput('linux.seccomp.listenerPath: must be set when a rule uses SCMP_ACT_NOTIFY', ctx)
    listener = {path: sc.listenerPath, metadata: sc.listenerMetadata ?? ''}
    flags |= FLAG_NEW_LISTENER
  } else {
    // only meaningful for a listener, and the kernel refuses it without one
    flags &= ~FLAGS.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
  }
  // with a listener, TSYNC must report a thread it cannot sync as ESRCH (the kernel's rule)
  if (notify && flags & FLAGS.SECCOMP_FILTER_FLAG_TSYNC) flags |= TSYNC_ESRCH
  const permissive = defName === 'SCMP_ACT_ALLOW' || defName === 'SCMP_ACT_LOG'
  const enosysStub = !permissive && defaultAction !== ((ACTIONS.SCMP_ACT_ERRNO | ENOSYS) >>> 0)
  return {defaultAction, archs, rules, flags, listener, enosysStub}
}

/** libseccomp builds the program from the plan; rules with the default action are left out. */
export function buildBpf(plan: FilterPlan, ctx: Ctx): {bpf: Buffer; skipped: string[]} {
  const lib = loadLibseccomp()
  const filter = lib.init(plan.defaultAction)
  if (!filter) throw new OcirtError('libseccomp refused the default action', {...ctx, step: 'compile seccomp'})
  const fail = (what: string, rc: number) =>
    new OcirtError(what, {...ctx, step: 'compile seccomp', errno: errnoName(-rc)})
  try {
    for (const a of plan.archs) {
      const token = lib.archToken(a.name)
      if (!token) throw new InvalidInput(`${a.where}: libseccomp ${lib.version()} does not know the architecture ${a.name}`, ctx)
      const rc = lib.archAdd(filter, token)
      if (rc < 0 && rc !== -EEXIST) throw fail(`${a.where}: add architecture ${a.name}`, rc)
    }
    const skipped = new Set<string>()
    for (const r of plan.rules) {
      if (r.action === plan.defaultAction) continue
      for (const name of r.names) {
        const nr = lib.syscallNumber(name)
        if (nr === -1) {
          skipped.add(name)
          continue
        }
        for (const conds of r.conditionSets) {
          const rc = lib.ruleAdd(filter, r.action, nr, conds)
          if (rc < 0) throw fail(`${r.where}: add the rule for ${name}`, rc)
        }
      }
    }
    const program = lib.exportBpf(filter)
    return {bpf: plan.enosysStub ? Buffer.concat([enosysStub(archLimits(plan, lib)), program]) : program, skipped: [...skipped]}
  } finally {
    lib.release(filter)
  }
}

/** For each listed architecture, the largest syscall number the profile names there (runc counts every rule). */
function archLimits(plan: FilterPlan, lib: Libseccomp): ArchLimit[] {
  const names = [...new Set(plan.rules.flatMap((r) => r.names))]
  return plan.archs.flatMap((a): ArchLimit[] => {
    const token = lib.archToken(a.name)
    const max = Math.max(-1, ...names.map((n) => lib.syscallNumberOn(token, n)))
    if (max <= 0) return []
    const abi = a.name === 'x86_64' ? 'x86_64' : a.name === 'x32' ? 'x32' : 'other'
    return [{audit: abi === 'other' ? token : AUDIT_ARCH_X86_64, abi, max}]
  })
}

/** Checks the flags against the kernel (a flag it lacks would fail in the container, with less to say). */
function checkKernelFlags(plan: FilterPlan, ctx: Ctx): void {
  const {kernelHasFlag} = require('./kernel') as typeof import('./kernel')
  for (const [name, bit] of Object.entries(FLAGS)) {
    if (plan.flags & bit && !kernelHasFlag(bit)) throw new InvalidInput(`linux.seccomp.flags: this kernel does not support ${name}`, ctx)
  }
}

export function compileSeccomp(sc: LinuxSeccomp, ctx: Ctx): CompiledSeccomp {
  const plan = planFilter(sc, ctx)
  checkKernelFlags(plan, ctx)
  const {bpf, skipped} = buildBpf(plan, ctx)
  return {flags: plan.flags, bpf, listener: plan.listener, skipped}
}

/** The container's filter, or undefined without linux.seccomp (then neither koffi nor libseccomp is loaded). */
export function containerSeccomp(spec: {linux?: {seccomp?: LinuxSeccomp}}, ctx: Ctx): CompiledSeccomp | undefined {
  const sc = spec.linux?.seccomp
  if (!sc) return undefined
  const compiled = compileSeccomp(sc, ctx)
  debug(`${ctx.verb} ${ctx.id}: seccomp filter of ${compiled.bpf.length / 8} instructions, flags ${compiled.flags}` +
    (compiled.skipped.length ? `; unknown syscalls skipped: ${compiled.skipped.join(' ')}` : ''))
  return compiled
}
