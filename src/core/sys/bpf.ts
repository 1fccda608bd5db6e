// bpf(2) through koffi, for the cgroup v2 device filter: load a program, attach/detach it to a cgroup directory,
// list what is attached. Loaded only when a v2 cgroup gets device rules. Layouts are union bpf_attr's members.
import * as os from 'node:os'
import {OcirtError} from '../errors'
import {loadLibc} from './libc'

const SYS_BPF: Record<string, number> = {x64: 321, arm64: 280}

const CMD = {PROG_LOAD: 5, PROG_ATTACH: 8, PROG_DETACH: 9, PROG_GET_FD_BY_ID: 13, PROG_QUERY: 16} as const
export const BPF_PROG_TYPE_CGROUP_DEVICE = 15
export const BPF_CGROUP_DEVICE = 6
export const BPF_F_ALLOW_MULTI = 2
export const BPF_F_REPLACE = 4

type Fn = (...args: unknown[]) => number
let bound: {syscall: Fn; errno: () => number; nr: number} | undefined

function bpf(): NonNullable<typeof bound> {
  if (bound) return bound
  const nr = SYS_BPF[process.arch]
  if (nr === undefined) throw new OcirtError(`bpf(2): no syscall number known for ${process.arch}`, {step: 'bpf'})
  const {koffi, syscall, errno} = loadLibc()
  koffi.struct('ocirt_bpf_load', {
    prog_type: 'uint32', insn_cnt: 'uint32', insns: 'void *', license: 'void *', log_level: 'uint32', log_size: 'uint32',
    log_buf: 'void *', kern_version: 'uint32', prog_flags: 'uint32', prog_name: koffi.array('char', 16),
    prog_ifindex: 'uint32', expected_attach_type: 'uint32',
  })
  koffi.struct('ocirt_bpf_attach', {target_fd: 'uint32', attach_bpf_fd: 'uint32', attach_type: 'uint32', attach_flags: 'uint32', replace_bpf_fd: 'uint32'})
  koffi.struct('ocirt_bpf_query', {target_fd: 'uint32', attach_type: 'uint32', query_flags: 'uint32', attach_flags: 'uint32', prog_ids: 'void *', prog_cnt: 'uint32'})
  koffi.struct('ocirt_bpf_get_id', {id: 'uint32', next_id: 'uint32', open_flags: 'uint32'})
  bound = {syscall, errno, nr}
  return bound
}

/** An errno from bpf(2), as the name Node uses (EPERM, EACCES, ...). */
export class BpfError extends Error {
  constructor(readonly call: string, readonly code: string, readonly log = '') {
    super(`${call}: ${code}`)
  }
}

function call(cmd: number, type: string, attr: Record<string, unknown>, name: string): number {
  const {syscall, errno, nr} = bpf()
  const {koffi} = loadLibc()
  const rc = syscall(nr, 'int', cmd, `${type} *`, attr, 'uint', koffi.sizeof(type))
  if (rc >= 0) return rc
  const e = errno()
  const code = Object.entries(os.constants.errno).find(([, v]) => v === e)?.[0] ?? `errno ${e}`
  throw new BpfError(name, code)
}

/**
 * Loads a BPF_PROG_TYPE_CGROUP_DEVICE program; returns its fd. A refused program is loaded again with the
 * verifier's log on, and the error carries the log.
 */
export function loadDeviceProgram(insns: Buffer, license: string, name: string): number {
  const attr = (log?: Buffer) => ({
    prog_type: BPF_PROG_TYPE_CGROUP_DEVICE, insn_cnt: insns.length / 8, insns, license: Buffer.from(`${license}\0`),
    log_level: log ? 1 : 0, log_size: log ? log.length : 0, log_buf: log ?? null, kern_version: 0, prog_flags: 0,
    prog_name: name.slice(0, 15), prog_ifindex: 0, expected_attach_type: BPF_CGROUP_DEVICE,
  })
  try {
    return call(CMD.PROG_LOAD, 'ocirt_bpf_load', attr(), 'BPF_PROG_LOAD')
  } catch (err) {
    if (!(err instanceof BpfError) || err.code === 'EPERM') throw err
    const log = Buffer.alloc(256 * 1024)
    try {
      return call(CMD.PROG_LOAD, 'ocirt_bpf_load', attr(log), 'BPF_PROG_LOAD') // loaded after all: keep it
    } catch (again) {
      if (!(again instanceof BpfError)) throw again
      const text = log.subarray(0, Math.max(0, log.indexOf(0))).toString('utf8').trim()
      throw new BpfError('BPF_PROG_LOAD', again.code, text)
    }
  }
}

/** Attaches `progFd` to the cgroup `cgroupFd` as a device program; `replaceFd` is swapped out atomically. */
export function attachDeviceProgram(cgroupFd: number, progFd: number, flags: number, replaceFd = 0): void {
  call(CMD.PROG_ATTACH, 'ocirt_bpf_attach', {target_fd: cgroupFd, attach_bpf_fd: progFd, attach_type: BPF_CGROUP_DEVICE,
    attach_flags: flags, replace_bpf_fd: replaceFd}, 'BPF_PROG_ATTACH')
}

export function detachDeviceProgram(cgroupFd: number, progFd: number): void {
  call(CMD.PROG_DETACH, 'ocirt_bpf_attach', {target_fd: cgroupFd, attach_bpf_fd: progFd, attach_type: BPF_CGROUP_DEVICE,
    attach_flags: 0, replace_bpf_fd: 0}, 'BPF_PROG_DETACH')
}

/** The ids of the device programs attached to the cgroup itself (not inherited ones). */
export function queryDevicePrograms(cgroupFd: number): number[] {
  for (let room = 64; ; room *= 4) {
    const ids = Buffer.alloc(room * 4) // ids start at 1: zeros are unused slots
    try {
      call(CMD.PROG_QUERY, 'ocirt_bpf_query', {target_fd: cgroupFd, attach_type: BPF_CGROUP_DEVICE, query_flags: 0,
        attach_flags: 0, prog_ids: ids, prog_cnt: room}, 'BPF_PROG_QUERY')
    } catch (err) {
      if (err instanceof BpfError && err.code === 'ENOSPC' && room < 65536) continue
      throw err
    }
    const out: number[] = []
    for (let i = 0; i < room; i++) {
      const id = ids.readUInt32LE(i * 4)
      if (id !== 0) out.push(id)
    }
    return out
  }
}

/** An fd for the program with this id (BPF_PROG_GET_FD_BY_ID). */
export function programFdById(id: number): number {
  return call(CMD.PROG_GET_FD_BY_ID, 'ocirt_bpf_get_id', {id, next_id: 0, open_flags: 0}, 'BPF_PROG_GET_FD_BY_ID')
}
