// The process half of a plan (shared by create and exec): argv, env, cwd, user and groups, capabilities,
// rlimits, terminal, no_new_privs, I/O priority and scheduler. HOME comes from the rootfs's /etc/passwd when the env lacks it, as runc does.
import * as fs from 'node:fs'
import type {Process} from '../spec/types'
import {InvalidInput} from '../errors'
import {capMask} from '../process/capabilities'
import {resolveInRoot} from '../mounts/resolve'
import {toRlimits} from '../process/rlimits'
import {ioprioValue, schedAttr} from '../process/sched'
import type {CapSets, InitPlan} from './plan'

type ProcessFields = Pick<InitPlan, 'args' | 'env' | 'cwd' | 'uid' | 'gid' | 'additionalGids' | 'umask' | 'caps' |
  'noNewPrivileges' | 'rlimits' | 'oomScoreAdj' | 'terminal' | 'consoleSize' | 'setgroupsAllowed' | 'ioprio' | 'sched'>

export function processPlan(p: Process, opts: {rootfs?: string; ctx: {verb: string; id: string}; rootless: boolean; userns: boolean}): ProcessFields {
  if (!p.args || p.args.length === 0) throw new InvalidInput('process.args: must not be empty', opts.ctx)
  const uid = p.user?.uid ?? 0
  if (opts.rootless && opts.userns && (p.user?.additionalGids?.length ?? 0) > 0) {
    // setgroups is denied (or, as in runc, never called) in a rootless user namespace: refuse rather than drop
    throw new InvalidInput('process.user.additionalGids: cannot set any additional groups in a rootless container', opts.ctx)
  }
  const env = withHome(p.env ?? [], uid, opts.rootfs)
  return {
    args: p.args,
    env,
    cwd: p.cwd || '/',
    uid,
    gid: p.user?.gid ?? 0,
    additionalGids: p.user?.additionalGids,
    // always sent: otherwise the container would inherit ocirt's own umask
    umask: p.user?.umask ?? 0o022,
    caps: capSets(p.capabilities, opts.ctx),
    noNewPrivileges: p.noNewPrivileges === true,
    rlimits: toRlimits(p.rlimits ?? []),
    oomScoreAdj: p.oomScoreAdj,
    terminal: p.terminal === true,
    consoleSize: p.consoleSize ? {rows: p.consoleSize.height, cols: p.consoleSize.width} : undefined,
    // a rootless user namespace is made with setgroups denied (the only way to map our own gid)
    setgroupsAllowed: !(opts.rootless && opts.userns),
    ioprio: p.ioPriority ? ioprioValue(p.ioPriority) : undefined,
    sched: p.scheduler ? schedAttr(p.scheduler) : undefined,
  }
}

function capSets(c: Process['capabilities'], ctx: {verb: string; id: string}): CapSets {
  const permitted = capMask(c?.permitted ?? [], 'process.capabilities.permitted', ctx)
  const inheritable = capMask(c?.inheritable ?? [], 'process.capabilities.inheritable', ctx)
  return {
    bounding: capMask(c?.bounding ?? [], 'process.capabilities.bounding', ctx),
    effective: capMask(c?.effective ?? [], 'process.capabilities.effective', ctx),
    permitted,
    inheritable,
    // the kernel only keeps an ambient cap that is also permitted and inheritable; runc's default spec lists
    // ambient caps without inheritable ones and runc just warns, so ask only for what can be raised
    ambient: capMask(c?.ambient ?? [], 'process.capabilities.ambient', ctx) & permitted & inheritable,
  }
}

function withHome(env: string[], uid: number, rootfs?: string): string[] {
  if (env.some((e) => e.startsWith('HOME='))) return env
  return [...env, `HOME=${homeOf(uid, rootfs) ?? '/'}`]
}

function homeOf(uid: number, rootfs?: string): string | undefined {
  if (!rootfs) return undefined
  try {
    for (const line of fs.readFileSync(resolveInRoot(rootfs, '/etc/passwd').hostPath, 'utf8').split('\n')) {
      const f = line.split(':')
      if (f.length >= 6 && Number(f[2]) === uid) return f[5]
    }
  } catch {
    // no passwd file: HOME=/ like runc
  }
  return undefined
}
