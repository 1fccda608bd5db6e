// validateSpec: every problem of a config, by its path in config.json, in one InvalidInput, before anything
// is created. Top level, process, mounts and hooks here; linux.* in validate-linux.ts. Rules follow what
// runc 1.1 refuses (same phrases where runc has one), a few checks earlier than runc makes them.
import * as path from 'node:path'
import {InvalidInput} from '../errors'
import {isCapability} from '../process/capabilities'
import {isRlimitType, rlimitValue} from '../process/rlimits'
import {scanMountOptions, unsupportedReason} from '../mounts/options'
import {RUNTIME_SUPPORT} from '../features'
import {hostSupport, HOST_PROBES, type HostSupport} from './host'
import {checkLinux} from './validate-linux'
import {checkCPUAffinity, checkIOPriority, checkScheduler} from '../process/sched'
import {isObject, lsm, stringArray, uint, type Report} from './check'
import {HOOK_NAMES, type Spec} from './types'

export interface Problem {
  /** where in config.json: "linux.namespaces[2].type" */
  path: string
  message: string
}

export interface ValidateOptions {
  verb: string
  id: string
  /** create and run need a process to start (runc: "process property must not be empty") */
  requireProcess?: boolean
  /** running without root: a user namespace is required */
  rootless?: boolean
  /** overrides of the probed host (tests) */
  host?: Partial<HostSupport>
}

/** The InvalidInput validateSpec throws; `problems` keeps them apart for callers that want the list. */
export class SpecInvalid extends InvalidInput {
  readonly problems: Problem[]
  constructor(problems: Problem[], ctx: {verb: string; id: string}) {
    super(problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; '), {...ctx, step: 'validate config'})
    this.name = 'InvalidInput'
    this.problems = problems
  }
}

export function validateSpec(spec: Spec, opts: ValidateOptions): void {
  const problems = specProblems(spec, opts)
  if (problems.length > 0) throw new SpecInvalid(problems, {verb: opts.verb, id: opts.id})
}

export function specProblems(spec: Spec, opts: ValidateOptions): Problem[] {
  const problems: Problem[] = []
  const report: Report = (p, message) => problems.push({path: p, message})
  if (!isObject(spec)) {
    report('', 'the config must be a JSON object')
    return problems
  }
  const host: HostSupport = {...hostSupport(), ...opts.host}
  checkVersion(spec.ociVersion, report)
  checkRoot(spec.root, report)
  checkProcess(spec, opts, host, report)
  checkMounts(spec.mounts, report)
  checkHooks(spec.hooks, report)
  checkLinux(spec, {rootless: opts.rootless === true, host}, report)
  return problems
}

function checkVersion(v: unknown, report: Report): void {
  if (v === undefined || v === '') return report('ociVersion', 'must be set')
  if (typeof v !== 'string') return report('ociVersion', 'must be a string')
  if (!/^1\.\d+/.test(v)) report('ociVersion', `unsupported version ${JSON.stringify(v)} (ocirt runs 1.x configs)`)
}

function checkRoot(root: unknown, report: Report): void {
  if (root === undefined) return report('root', 'must be specified')
  if (!isObject(root)) return report('root', 'must be an object')
  if (typeof root.path !== 'string' || root.path === '') report('root.path', 'must be a non-empty path')
}

function checkProcess(spec: Spec, opts: ValidateOptions, host: HostSupport, report: Report): void {
  const p = spec.process as unknown
  if (p === undefined || p === null) {
    if (opts.requireProcess) report('process', 'must be specified (the container has nothing to run)')
    return
  }
  if (!isObject(p)) return report('process', 'must be an object')
  if (opts.requireProcess && (!Array.isArray(p.args) || p.args.length === 0)) report('process.args', 'must not be empty')
  else stringArray(p.args, 'process.args', report)
  stringArray(p.env, 'process.env', report)
  if (p.cwd === undefined || p.cwd === '') report('process.cwd', 'must be set')
  else if (typeof p.cwd !== 'string' || !path.isAbsolute(p.cwd)) report('process.cwd', `must be an absolute path, got ${JSON.stringify(p.cwd)}`)
  if (p.user !== undefined) {
    if (!isObject(p.user)) report('process.user', 'must be an object')
    else for (const k of ['uid', 'gid', 'umask'] as const) if (p.user[k] !== undefined) uint(p.user[k], `process.user.${k}`, report)
  }
  if (p.capabilities !== undefined) checkCaps(p.capabilities, report)
  if (p.rlimits !== undefined) checkRlimits(p.rlimits, report)
  if (p.oomScoreAdj !== undefined && !(Number.isInteger(p.oomScoreAdj) && Math.abs(p.oomScoreAdj as number) <= 1000)) {
    report('process.oomScoreAdj', 'must be an integer from -1000 to 1000')
  }
  if (p.ioPriority !== undefined) checkIOPriority(p.ioPriority, report)
  if (p.scheduler !== undefined) checkScheduler(p.scheduler, report)
  if (p.execCPUAffinity !== undefined) checkCPUAffinity(p.execCPUAffinity, report)
  if (p.apparmorProfile) lsm('process.apparmorProfile', 'AppArmor', host.apparmor, HOST_PROBES.apparmor, RUNTIME_SUPPORT.apparmor, report)
  if (p.selinuxLabel) lsm('process.selinuxLabel', 'SELinux', host.selinux, HOST_PROBES.selinux, RUNTIME_SUPPORT.selinux, report)
}

const CAP_SETS = ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'] as const

function checkCaps(caps: unknown, report: Report): void {
  if (!isObject(caps)) return report('process.capabilities', 'must be an object')
  for (const set of CAP_SETS) {
    const where = `process.capabilities.${set}`
    if (!stringArray(caps[set], where, report)) continue
    ;(caps[set] as string[] | undefined)?.forEach((name, i) => {
      if (!isCapability(name)) report(`${where}[${i}]`, `unknown capability ${JSON.stringify(name)}`)
    })
  }
}

function checkRlimits(rlimits: unknown, report: Report): void {
  if (!Array.isArray(rlimits)) return report('process.rlimits', 'must be an array')
  rlimits.forEach((r: unknown, i) => {
    const where = `process.rlimits[${i}]`
    if (!isObject(r)) return report(where, 'must be an object')
    if (!isRlimitType(r.type)) report(`${where}.type`, `unknown rlimit ${JSON.stringify(r.type)}`)
    const soft = rlimitValue(r.soft)
    const hard = rlimitValue(r.hard)
    if (soft === undefined) report(`${where}.soft`, 'must be a non-negative integer')
    if (hard === undefined) report(`${where}.hard`, 'must be a non-negative integer')
    if (soft !== undefined && hard !== undefined && soft > hard) report(where, `soft limit ${soft} exceeds hard limit ${hard}`)
  })
}

function checkMounts(mounts: unknown, report: Report): void {
  if (mounts === undefined) return
  if (!Array.isArray(mounts)) return report('mounts', 'must be an array')
  mounts.forEach((m: unknown, i) => {
    const where = `mounts[${i}]`
    if (!isObject(m)) return report(where, 'must be an object')
    if (m.destination === undefined || m.destination === '') report(`${where}.destination`, 'must be set')
    else if (typeof m.destination !== 'string' || !path.isAbsolute(m.destination)) {
      report(`${where}.destination`, `must be an absolute path, got ${JSON.stringify(m.destination)}`)
    }
    if (stringArray(m.options, `${where}.options`, report) && Array.isArray(m.options)) {
      const options = m.options as string[]
      for (const name of scanMountOptions(options).unsupported) {
        report(`${where}.options[${options.indexOf(name)}]`, `${JSON.stringify(name)}: ${unsupportedReason(name)}`)
      }
    }
    for (const k of ['uidMappings', 'gidMappings'] as const) {
      if (m[k] !== undefined) report(`${where}.${k}`, 'idmapped mounts are not supported')
    }
  })
}

function checkHooks(hooks: unknown, report: Report): void {
  if (hooks === undefined) return
  if (!isObject(hooks)) return report('hooks', 'must be an object')
  for (const phase of HOOK_NAMES) {
    const list = hooks[phase]
    if (list === undefined) continue
    if (!Array.isArray(list)) {
      report(`hooks.${phase}`, 'must be an array')
      continue
    }
    list.forEach((h: unknown, i) => {
      const where = `hooks.${phase}[${i}]`
      if (!isObject(h)) return report(where, 'must be an object')
      if (typeof h.path !== 'string' || !path.isAbsolute(h.path)) report(`${where}.path`, `must be an absolute path, got ${JSON.stringify(h.path)}`)
      stringArray(h.args, `${where}.args`, report)
      stringArray(h.env, `${where}.env`, report)
      if (h.timeout !== undefined && !(Number.isInteger(h.timeout) && (h.timeout as number) > 0)) {
        report(`${where}.timeout`, 'must be a positive number of seconds')
      }
    })
  }
}
