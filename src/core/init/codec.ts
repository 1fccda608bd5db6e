// Encodes an InitPlan into the TLV payload of the PLAN frame. The attribute ids mirror native/plan.h
// (test/unit/init/ids.test.ts checks that both agree); docs/init-protocol.md describes each attribute.
import type {InitPlan} from './plan'

export const ATTR = {
  MODE: 1,
  CLONE_FLAGS: 2,
  NS_JOIN: 3,
  RLIMIT: 4,
  OOM_SCORE_ADJ: 5,
  TIMENS_OFFSETS: 6,
  DETACH: 7,
  FIFO_PATH: 8,
  CONSOLE_SOCKET: 9,
  TERMINAL: 10,
  CONSOLE_SIZE: 11,
  HOSTNAME: 12,
  DOMAINNAME: 13,
  ROOTFS: 14,
  ROOT_PROPAGATION: 15,
  MOUNT: 16,
  DEVICE: 17,
  SYMLINK: 18,
  MASK: 19,
  READONLY: 20,
  ROOT_READONLY: 21,
  SYSCTL: 22,
  ARG: 23,
  ENV: 24,
  CWD: 25,
  UID: 26,
  GID: 27,
  ADDITIONAL_GIDS: 28,
  UMASK: 29,
  CAPS: 30,
  NO_NEW_PRIVS: 31,
  SECCOMP: 32,
  PRESERVE_FDS: 33,
  SESSION_KEYRING: 34,
  START_HOOK: 35,
  NO_PIVOT: 36,
  SETGROUPS_ALLOWED: 37,
  PERSONALITY: 38,
  CGROUP_PROCS: 41,
  CGROUP_LEAVE: 42,
  IOPRIO: 43,
  SCHED: 44,
  CPU_AFFINITY_INITIAL: 45,
  CPU_AFFINITY_FINAL: 46,
  LOOPBACK_UP: 47,
} as const

export const PLAN_MODE = {INIT: 1, EXEC: 2} as const

export const MOUNT_MK = {DIR: 1, FILE: 2} as const

type Field = {u32: number} | {u64: bigint | number} | {str: string} | {bytes: Buffer}

/** Builds the attribute stream; each attribute is a list of fields written back to back. */
class TlvWriter {
  private chunks: Buffer[] = []

  add(type: number, ...fields: Field[]): void {
    const body = Buffer.concat(fields.map(encodeField))
    const head = Buffer.alloc(8)
    head.writeUInt16LE(type, 0)
    head.writeUInt16LE(0, 2)
    head.writeUInt32LE(body.length, 4)
    this.chunks.push(head, body)
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks)
  }
}

function encodeField(f: Field): Buffer {
  if ('u32' in f) {
    const b = Buffer.alloc(4)
    b.writeUInt32LE(f.u32 >>> 0)
    return b
  }
  if ('u64' in f) {
    const b = Buffer.alloc(8)
    b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(f.u64)))
    return b
  }
  if ('str' in f) {
    if (f.str.includes('\0')) throw new Error(`plan string contains a NUL byte: ${JSON.stringify(f.str)}`)
    return Buffer.from(f.str + '\0', 'utf8')
  }
  return f.bytes
}

const u32 = (v: number): Field => ({u32: v})
const u64 = (v: bigint | number): Field => ({u64: v})
const str = (v: string): Field => ({str: v})

export function encodePlan(plan: InitPlan): Buffer {
  const w = new TlvWriter()
  w.add(ATTR.MODE, u32(plan.mode === 'init' ? PLAN_MODE.INIT : PLAN_MODE.EXEC))
  w.add(ATTR.DETACH, u32(plan.detach ? 1 : 0))
  for (const p of plan.cgroupProcs) w.add(ATTR.CGROUP_PROCS, str(p))
  for (const p of plan.cgroupLeave) w.add(ATTR.CGROUP_LEAVE, str(p))
  if (plan.cloneFlags) w.add(ATTR.CLONE_FLAGS, u64(plan.cloneFlags))
  for (const j of plan.nsJoins) w.add(ATTR.NS_JOIN, u32(j.flag), str(j.path))
  for (const r of plan.rlimits) w.add(ATTR.RLIMIT, u32(r.resource), u64(r.soft), u64(r.hard))
  if (plan.oomScoreAdj !== undefined) w.add(ATTR.OOM_SCORE_ADJ, str(String(plan.oomScoreAdj)))
  if (plan.timensOffsets) w.add(ATTR.TIMENS_OFFSETS, str(plan.timensOffsets))
  if (plan.fifoPath) w.add(ATTR.FIFO_PATH, str(plan.fifoPath))
  if (plan.consoleSocket) w.add(ATTR.CONSOLE_SOCKET, str(plan.consoleSocket))
  if (plan.terminal) w.add(ATTR.TERMINAL, u32(1))
  if (plan.consoleSize) w.add(ATTR.CONSOLE_SIZE, u32(plan.consoleSize.rows), u32(plan.consoleSize.cols))
  if (plan.loopbackUp) w.add(ATTR.LOOPBACK_UP, u32(1))
  if (plan.hostname !== undefined) w.add(ATTR.HOSTNAME, str(plan.hostname))
  if (plan.domainname !== undefined) w.add(ATTR.DOMAINNAME, str(plan.domainname))
  if (plan.rootfs) w.add(ATTR.ROOTFS, str(plan.rootfs))
  if (plan.rootPropagation) w.add(ATTR.ROOT_PROPAGATION, u64(plan.rootPropagation.pre), u64(plan.rootPropagation.post))
  for (const m of plan.mounts) {
    w.add(ATTR.MOUNT, u64(m.flags), u64(m.remountFlags), u64(m.propagation), u32(m.mk),
      str(m.source), str(m.target), str(m.fstype), str(m.data))
  }
  for (const d of plan.devices) {
    w.add(ATTR.DEVICE, u32(d.type), u32(d.major), u32(d.minor), u32(d.mode), u32(d.uid), u32(d.gid),
      u32(d.bind ? 1 : 0), str(d.path), str(d.source ?? ''))
  }
  for (const s of plan.symlinks) w.add(ATTR.SYMLINK, str(s.target), str(s.linkpath))
  for (const p of plan.maskedPaths) w.add(ATTR.MASK, str(p))
  for (const p of plan.readonlyPaths) w.add(ATTR.READONLY, str(p))
  if (plan.rootReadonly) w.add(ATTR.ROOT_READONLY, u32(1))
  if (plan.noPivot) w.add(ATTR.NO_PIVOT, u32(1))
  for (const [k, v] of plan.sysctls) w.add(ATTR.SYSCTL, str(k), str(v))
  for (const a of plan.args) w.add(ATTR.ARG, str(a))
  for (const e of plan.env) w.add(ATTR.ENV, str(e))
  w.add(ATTR.CWD, str(plan.cwd))
  w.add(ATTR.UID, u32(plan.uid))
  w.add(ATTR.GID, u32(plan.gid))
  if (plan.additionalGids) {
    const b = Buffer.alloc(plan.additionalGids.length * 4)
    plan.additionalGids.forEach((g, i) => b.writeUInt32LE(g, i * 4))
    w.add(ATTR.ADDITIONAL_GIDS, {bytes: b})
  }
  if (plan.umask !== undefined) w.add(ATTR.UMASK, u32(plan.umask))
  if (plan.caps) {
    const c = plan.caps
    w.add(ATTR.CAPS, u64(c.bounding), u64(c.effective), u64(c.permitted), u64(c.inheritable), u64(c.ambient))
  }
  if (plan.noNewPrivileges) w.add(ATTR.NO_NEW_PRIVS, u32(1))
  if (plan.seccomp) w.add(ATTR.SECCOMP, u32(plan.seccomp.flags), {bytes: plan.seccomp.bpf})
  if (plan.preserveFds) w.add(ATTR.PRESERVE_FDS, u32(plan.preserveFds))
  if (plan.sessionKeyring) w.add(ATTR.SESSION_KEYRING, str(plan.sessionKeyring))
  for (const h of plan.startHooks) {
    w.add(ATTR.START_HOOK, u32(h.timeout ?? 0), u32(h.args.length), u32(h.env.length), str(h.path),
      ...h.args.map(str), ...h.env.map(str))
  }
  if (!plan.setgroupsAllowed) w.add(ATTR.SETGROUPS_ALLOWED, u32(0))
  if (plan.personality !== undefined) w.add(ATTR.PERSONALITY, u32(plan.personality))
  if (plan.ioprio !== undefined) w.add(ATTR.IOPRIO, u32(plan.ioprio))
  if (plan.sched) {
    const s = plan.sched
    // nice is signed: the helper reads the u32 back as int32
    w.add(ATTR.SCHED, u32(s.policy), u32(s.nice), u32(s.priority), u64(s.flags), u64(s.runtime), u64(s.deadline), u64(s.period))
  }
  if (plan.cpuAffinity?.initial) w.add(ATTR.CPU_AFFINITY_INITIAL, {bytes: plan.cpuAffinity.initial})
  if (plan.cpuAffinity?.final) w.add(ATTR.CPU_AFFINITY_FINAL, {bytes: plan.cpuAffinity.final})
  return w.finish()
}
