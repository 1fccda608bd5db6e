// Generates the BPF_PROG_TYPE_CGROUP_DEVICE program for a devices controller state (emulate.ts). Pure: the
// instructions as bytes (struct bpf_insn[], little-endian, as the kernel on x86_64 and arm64 reads them).
//
// The kernel calls the program with r1 = struct bpf_cgroup_dev_ctx {u32 access_type; u32 major; u32 minor},
// access_type = (access << 16) | type, and allows the access when it returns 1. The program:
//   r2 = type, r3 = access, r4 = major, r5 = minor
//   per exception: skip unless type/major/minor match; whitelist: return 1 if the exception grants every
//   requested bit; blacklist: return 0 if it shares one
//   return the default
import {ANY, type DeviceException, type DeviceState} from './emulate'

export interface Insn {
  code: number
  dst: number
  src: number
  off: number
  imm: number
}

/** The opcodes this generator emits (class | size/op | source), named for tests and the log. */
export const OP = {
  LDX_W: 0x61, // dst = *(u32 *)(src + off)
  AND_K: 0x57, // dst &= imm (64-bit)
  RSH_K: 0x77, // dst >>= imm (64-bit)
  MOV_X: 0xbf, // dst = src (64-bit)
  MOV_K: 0xb7, // dst = imm (64-bit, sign-extended)
  MOV32_K: 0xb4, // dst = (u32)imm, upper half zeroed
  JEQ_K: 0x15, // if dst == imm goto pc+1+off
  JNE_K: 0x55, // if dst != imm goto pc+1+off
  JNE_X: 0x5d, // if dst != src goto pc+1+off
  EXIT: 0x95,
} as const

const R0 = 0
const R1 = 1
const TYPE = 2
const ACCESS = 3
const MAJOR = 4
const MINOR = 5

const insn = (code: number, dst: number, src: number, off: number, imm: number): Insn => ({code, dst, src, off, imm})

/** `if reg != value goto +skip` (two instructions when the value does not fit a sign-extended imm32). */
function jumpUnless(reg: number, value: number, skip: number): Insn[] {
  if (value <= 0x7fffffff) return [insn(OP.JNE_K, reg, 0, skip, value)]
  return [insn(OP.MOV32_K, R1, 0, 0, value | 0), insn(OP.JNE_X, reg, R1, skip, 0)]
}

function ret(value: 0 | 1): Insn[] {
  return [insn(OP.MOV_K, R0, 0, 0, value), insn(OP.EXIT, 0, 0, 0, 0)]
}

/** One exception's block; every "no" jumps to the instruction after it. */
function block(ex: DeviceException, defaultAllow: boolean): Insn[] {
  // built back to front, so each jump knows how many instructions remain in the block
  let tail: Insn[] = defaultAllow
    ? [insn(OP.MOV_X, R1, ACCESS, 0, 0), insn(OP.AND_K, R1, 0, 0, ex.access), insn(OP.JEQ_K, R1, 0, 2, 0), ...ret(0)]
    : [insn(OP.MOV_X, R1, ACCESS, 0, 0), insn(OP.AND_K, R1, 0, 0, ~ex.access & 0xffff), insn(OP.JNE_K, R1, 0, 2, 0), ...ret(1)]
  if (ex.minor !== ANY) tail = [...jumpUnless(MINOR, ex.minor, tail.length), ...tail]
  if (ex.major !== ANY) tail = [...jumpUnless(MAJOR, ex.major, tail.length), ...tail]
  return [...jumpUnless(TYPE, ex.type, tail.length), ...tail]
}

export function deviceInstructions(state: DeviceState): Insn[] {
  const prologue = [
    insn(OP.LDX_W, TYPE, R1, 0, 0),
    insn(OP.AND_K, TYPE, 0, 0, 0xffff),
    insn(OP.LDX_W, ACCESS, R1, 0, 0),
    insn(OP.RSH_K, ACCESS, 0, 0, 16),
    insn(OP.LDX_W, MAJOR, R1, 4, 0),
    insn(OP.LDX_W, MINOR, R1, 8, 0),
  ]
  const blocks = state.exceptions.flatMap((ex) => block(ex, state.defaultAllow))
  return [...prologue, ...blocks, ...ret(state.defaultAllow ? 1 : 0)]
}

/** struct bpf_insn[]: u8 code, u8 dst:4 src:4 (dst in the low nibble), s16 off, s32 imm. */
export function encode(insns: readonly Insn[]): Buffer {
  const buf = Buffer.alloc(insns.length * 8)
  insns.forEach((i, n) => {
    buf.writeUInt8(i.code, n * 8)
    buf.writeUInt8((i.src << 4) | i.dst, n * 8 + 1)
    buf.writeInt16LE(i.off, n * 8 + 2)
    buf.writeInt32LE(i.imm, n * 8 + 4)
  })
  return buf
}

/** The encoded program for `state`. */
export function deviceProgram(state: DeviceState): Buffer {
  return encode(deviceInstructions(state))
}
