// The ENOSYS stub runc puts in front of every restrictive filter, written for ocirt: a syscall whose number is
// above every number the profile names (for that architecture) is one the profile's author could not know,
// probably newer than the profile; it fails with ENOSYS, which makes libc fall back to an older call, instead
// of meeting the default action (EPERM would make it give up, KILL would kill it).
//
// The stub only reads seccomp_data and either returns ERRNO(ENOSYS) or falls through into libseccomp's
// program, which starts over with its own loads:
//
//   ld [arch]
//   jeq ARCH_a → sec_a   ...   ja filter          (an architecture the profile does not list: the filter decides)
//   sec_a: ld [nr]; jgt MAX_a → enosys, filter
//   sec_x86_64: ld [nr]; jset X32_BIT → x32, x64;  x64: jgt MAX_64 → enosys, filter;  x32: jgt MAX_X32 → ...
//   enosys: ret ERRNO(ENOSYS)
//   filter: <libseccomp's program>

const LD_W_ABS = 0x20
const JMP_JA = 0x05
const JMP_JEQ_K = 0x15
const JMP_JGT_K = 0x25
const JMP_JSET_K = 0x45
const RET_K = 0x06
const OFFSET_NR = 0
const OFFSET_ARCH = 4
const RET_ERRNO = 0x00050000
const ENOSYS = 38

export const AUDIT_ARCH_X86_64 = 0xc000003e
/** x32 calls run as x86_64 with this bit set in the syscall number. */
export const X32_SYSCALL_BIT = 0x40000000

export interface ArchLimit {
  /** AUDIT_ARCH_* as seccomp_data.arch carries it */
  audit: number
  /** x86_64 and x32 share AUDIT_ARCH_X86_64 and are told apart by X32_SYSCALL_BIT */
  abi: 'x86_64' | 'x32' | 'other'
  /** the largest syscall number the profile names for this architecture */
  max: number
}

type Label = string
interface Insn {
  code: number
  k: number
  jt?: Label
  jf?: Label
  /** for JA: where to */
  to?: Label
  label?: Label
}

/** The stub as struct sock_filter[] bytes, or an empty buffer when no listed architecture has a limit. */
export function enosysStub(limits: ArchLimit[]): Buffer {
  const byArch = new Map<number, ArchLimit[]>()
  for (const l of limits) byArch.set(l.audit, [...(byArch.get(l.audit) ?? []), l])
  if (byArch.size === 0) return Buffer.alloc(0)

  const prog: Insn[] = [{code: LD_W_ABS, k: OFFSET_ARCH}]
  for (const audit of byArch.keys()) prog.push({code: JMP_JEQ_K, k: audit, jt: `arch-${audit}`, jf: 'next'})
  prog.push({code: JMP_JA, k: 0, to: 'filter'})
  for (const [audit, archLimits] of byArch) {
    prog.push({code: LD_W_ABS, k: OFFSET_NR, label: `arch-${audit}`})
    const x64 = archLimits.find((l) => l.abi === 'x86_64')
    const x32 = archLimits.find((l) => l.abi === 'x32')
    if (!x64 && !x32) {
      prog.push({code: JMP_JGT_K, k: archLimits[0].max, jt: 'enosys', jf: 'filter'})
      continue
    }
    prog.push({code: JMP_JSET_K, k: X32_SYSCALL_BIT, jt: `x32-${audit}`, jf: 'next'})
    prog.push(x64 ? {code: JMP_JGT_K, k: x64.max, jt: 'enosys', jf: 'filter'} : {code: JMP_JA, k: 0, to: 'filter'})
    prog.push(x32 ? {code: JMP_JGT_K, k: x32.max, jt: 'enosys', jf: 'filter', label: `x32-${audit}`} : {code: JMP_JA, k: 0, to: 'filter', label: `x32-${audit}`})
  }
  prog.push({code: RET_K, k: RET_ERRNO | ENOSYS, label: 'enosys'})
  return assemble(prog)
}

/** Resolves labels to relative jumps; "filter" is the first instruction after the stub, "next" the following one. */
function assemble(prog: Insn[]): Buffer {
  const at = new Map<Label, number>([['filter', prog.length]])
  prog.forEach((insn, i) => insn.label && at.set(insn.label, i))
  const offset = (i: number, label: Label | undefined): number => {
    if (label === undefined || label === 'next') return 0
    const target = at.get(label)
    if (target === undefined || target <= i) throw new Error(`ENOSYS stub: bad jump to ${label}`)
    return target - i - 1
  }
  const out = Buffer.alloc(prog.length * 8)
  prog.forEach((insn, i) => {
    const jt = offset(i, insn.jt)
    const jf = offset(i, insn.jf)
    if (jt > 255 || jf > 255) throw new Error('ENOSYS stub: jump too long') // a stub has a handful of instructions per arch
    out.writeUInt16LE(insn.code, i * 8)
    out[i * 8 + 2] = jt
    out[i * 8 + 3] = jf
    out.writeUInt32LE(insn.code === JMP_JA ? offset(i, insn.to) : insn.k >>> 0, i * 8 + 4)
  })
  return out
}
