// The process `exec` runs, decided as runc 1.1's exec.go decides it: read from --process (a process.json, and then
// every flag that shapes the process is ignored, as runc ignores it), or the container's saved process with the
// flags applied on top. Also the --cgroup sub-cgroup paths. Pure apart from reading the process file.
import * as fs from 'node:fs'
import * as path from 'node:path'
import {InvalidInput, wrapSysError} from '../errors'
import type {Process, Spec} from '../spec/types'
import {specProblems} from '../spec/validate'
import {isCapability} from '../process/capabilities'
import {warn} from '../log'

type Ctx = {verb: string; id: string}

/** The flags of `exec` that shape the process (runc's getProcess). */
export interface ProcessFlags {
  /** the command and its arguments */
  args: string[]
  cwd?: string
  env?: string[]
  /** -t: runc's exec allocates no terminal unless asked, whatever the container's process says */
  tty?: boolean
  /** uid[:gid] */
  user?: string
  additionalGids?: (string | number)[]
  caps?: string[]
  /** undefined: the container's process decides */
  noNewPrivs?: boolean
  apparmor?: string
  processLabel?: string
}

/** process.json as given to --process; what it leaves out (capabilities, rlimits, ioPriority, scheduler,
 * execCPUAffinity) is the container's. */
export function processFromFile(file: string, spec: Spec, ctx: Ctx): Process {
  let p: Process
  try {
    p = JSON.parse(fs.readFileSync(file, 'utf8')) as Process
  } catch (err) {
    if (err instanceof SyntaxError) throw new InvalidInput(`${err.message}`, {...ctx, step: `read process ${file}`})
    throw wrapSysError(err, {...ctx, step: `read process ${file}`})
  }
  if (typeof p !== 'object' || p === null || Array.isArray(p)) {
    throw new InvalidInput('must be a JSON object (an OCI process)', {...ctx, step: `read process ${file}`})
  }
  const inherited: Partial<Process> = {}
  if (p.capabilities === undefined && spec.process?.capabilities) inherited.capabilities = spec.process.capabilities
  if (p.rlimits === undefined && spec.process?.rlimits) inherited.rlimits = spec.process.rlimits
  // runc 1.2: the container's settings, unless the process brings its own
  for (const k of ['ioPriority', 'scheduler', 'execCPUAffinity'] as const) {
    if (p[k] === undefined && spec.process?.[k]) (inherited as Record<string, unknown>)[k] = spec.process[k]
  }
  return checked({...p, ...inherited}, spec, {...ctx, step: `validate process ${file}`})
}

/** The container's process with the flags applied, as runc's exec does. */
export function processFromFlags(spec: Spec, f: ProcessFlags, ctx: Ctx): Process {
  if (f.args.length === 0) throw new InvalidInput('process args cannot be empty', ctx)
  const p: Process = structuredClone(spec.process ?? {cwd: '/'})
  p.args = f.args
  if (f.cwd) p.cwd = f.cwd
  if (f.apparmor) p.apparmorProfile = f.apparmor
  if (f.processLabel) p.selinuxLabel = f.processLabel
  if (f.caps?.length) addCaps(p, f.caps)
  p.env = [...(p.env ?? []), ...(f.env ?? [])]
  p.terminal = f.tty === true
  if (f.noNewPrivs !== undefined) p.noNewPrivileges = f.noNewPrivs
  if (f.user) {
    const [uid, gid] = splitOnce(f.user, ':')
    p.user = {...p.user, uid: p.user?.uid ?? 0, gid: p.user?.gid ?? 0}
    if (gid !== undefined) p.user.gid = int(gid, 'gid', ctx)
    p.user.uid = int(uid, 'uid', ctx)
  }
  for (const g of f.additionalGids ?? []) {
    const gid = /^[0-9]+$/.test(String(g)) ? Number(g) : NaN
    if (!Number.isInteger(gid) || gid < 0 || gid > 0xffffffff) throw new InvalidInput(`additional-gids must be a positive number ${g}`, ctx)
    p.user = {uid: p.user?.uid ?? 0, gid: p.user?.gid ?? 0, ...p.user, additionalGids: [...(p.user?.additionalGids ?? []), gid]}
  }
  return checked(p, spec, {...ctx, step: 'validate process'})
}

/**
 * runc 1.1 (since the fix of CVE-2022-29162) adds a --cap to the bounding, effective and permitted sets, and to
 * the ambient set only when the process has an inheritable set; never to the inheritable set itself. Unknown
 * names are skipped with runc's warning.
 */
function addCaps(p: Process, names: string[]): void {
  const unknown = names.filter((n) => !isCapability(n))
  if (unknown.length) warn(`ignoring unknown or unavailable capabilities: [${unknown.join(' ')}]`)
  const add = names.filter(isCapability)
  const c = (p.capabilities = {...p.capabilities})
  c.bounding = [...(c.bounding ?? []), ...add]
  c.effective = [...(c.effective ?? []), ...add]
  c.permitted = [...(c.permitted ?? []), ...add]
  if (c.inheritable !== undefined) c.ambient = [...(c.ambient ?? []), ...add]
}

/**
 * The process checked with create's rules (every problem, by field), then its environment settled as runc's
 * init settles it: each entry must be NAME=VALUE, and a name given twice keeps its first place and last value.
 */
function checked(p: Process, spec: Spec, ctx: Ctx & {step: string}): Process {
  const problems = specProblems({...spec, process: p}, {verb: ctx.verb, id: ctx.id, requireProcess: true})
    .filter((q) => q.path === 'process' || q.path.startsWith('process.'))
  if (p.args !== undefined && !Array.isArray(p.args)) {
    // create's rules only say "must not be empty" of args that are not a list
    problems.splice(0, problems.length, ...problems.filter((q) => q.path !== 'process.args'), {path: 'process.args', message: 'must be an array of strings'})
  }
  if (p.terminal !== undefined && typeof p.terminal !== 'boolean') problems.push({path: 'process.terminal', message: 'must be a boolean'})
  if (problems.length) throw new InvalidInput(problems.map((q) => `${q.path}: ${q.message}`).join('; '), ctx)
  return {...p, env: settleEnv(p.env ?? [], ctx)}
}

function settleEnv(env: string[], ctx: Ctx & {step: string}): string[] {
  const values = new Map<string, string>()
  for (const pair of env) {
    const eq = pair.indexOf('=')
    if (eq < 0) throw new InvalidInput(`invalid environment variable: ${JSON.stringify(pair)}`, ctx)
    if (eq === 0) throw new InvalidInput(`environment variable name can't be empty: ${JSON.stringify(pair)}`, ctx)
    if (pair.includes('\0')) throw new InvalidInput(`environment variable can't contain null(\\x00): ${JSON.stringify(pair)}`, ctx)
    values.set(pair.slice(0, eq), pair)
  }
  return [...values.values()]
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep)
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)]
}

function int(s: string, what: 'uid' | 'gid', ctx: Ctx): number {
  const n = /^\+?[0-9]+$/.test(s) ? Number(s) : NaN
  if (!Number.isSafeInteger(n) || n > 0xffffffff) throw new InvalidInput(`parsing ${s} as int for ${what} failed`, ctx)
  return n
}

/**
 * runc 1.1's --cgroup: `path` (every controller; the only form on cgroup v2) or `ctrl[,ctrl]:path`, given once or
 * per controller; each path is taken below the container's own cgroup in that hierarchy and must exist (the
 * helper's write to its cgroup.procs fails otherwise). Returns the container's paths with those replaced.
 */
export function subCgroupPaths(paths: Record<string, string>, args: string[], ctx: Ctx): Record<string, string> {
  if (args.length === 0) return paths
  const bad = (detail: string) => new InvalidInput(detail, {...ctx, step: '--cgroup'})
  const want = new Map<string, string>()
  for (const arg of args) {
    const parts = arg.split(':')
    if (parts.length > 2) throw bad(`invalid --cgroup argument: ${arg}`)
    if (parts.length === 1) {
      if (args.length !== 1) throw bad(`invalid --cgroup argument: ${arg} (missing <controller>: prefix)`)
      want.set('', arg)
      continue
    }
    for (const ctrl of parts[0].split(',')) {
      if (ctrl === '') throw bad(`invalid --cgroup argument: ${arg} (empty <controller> prefix)`)
      if (want.has(ctrl)) throw bad(`invalid --cgroup argument(s): controller ${ctrl} specified multiple times`)
      want.set(ctrl, parts[1])
    }
  }
  const out = {...paths}
  const below = (base: string, sub: string) => {
    const dir = path.join(base, sub)
    if (dir !== base && !dir.startsWith(base + '/')) throw bad(`${sub} is not a sub cgroup path`)
    return dir
  }
  const all = want.get('')
  if (all !== undefined) {
    for (const k of Object.keys(out)) out[k] = below(out[k], all)
    return out
  }
  for (const [ctrl, sub] of want) {
    if (!(ctrl in out)) {
      const known = Object.keys(paths).filter(Boolean).join(', ') || 'none'
      throw bad(`unknown controller ${ctrl} (the container's cgroup has: ${known})`)
    }
    out[ctrl] = below(out[ctrl], sub)
  }
  return out
}
