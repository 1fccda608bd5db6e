// A tiny eBPF interpreter for BPF_PROG_TYPE_CGROUP_DEVICE programs: runs the bytes ocirt generates against a
// struct bpf_cgroup_dev_ctx, so unit tests can ask what a program decides without loading it. Knows only the
// opcodes the generator emits and fails loudly on anything else, on reads of unset registers, on loads that are
// not 4-byte reads inside the context, on backward jumps and on exit with r0 unset (the verifier's main rules).
// (test/helpers/bpf.ts is the classic-BPF interpreter for seccomp filters: a different machine.)

export interface DeviceAccess {
  /** BPF_DEVCG_DEV_BLOCK 1 or BPF_DEVCG_DEV_CHAR 2 */
  type: number
  major: number
  minor: number
  /** BPF_DEVCG_ACC_MKNOD 1 | READ 2 | WRITE 4 */
  access: number
}

const CTX = Symbol('ctx')
type Reg = bigint | typeof CTX | undefined
const U64 = (1n << 64n) - 1n
const sx32 = (imm: number) => BigInt.asUintN(64, BigInt(imm)) // imm is an s32: sign-extend to 64 bits

/** Runs the program; returns its r0 (1 allows the access, 0 denies it). */
export function runDeviceProgram(prog: Buffer, dev: DeviceAccess): number {
  if (prog.length % 8 !== 0 || prog.length === 0) throw new Error(`program of ${prog.length} bytes`)
  const ctx = Buffer.alloc(12)
  ctx.writeUInt32LE(((dev.access << 16) | dev.type) >>> 0, 0)
  ctx.writeUInt32LE(dev.major >>> 0, 4)
  ctx.writeUInt32LE(dev.minor >>> 0, 8)
  const r: Reg[] = new Array(11).fill(undefined)
  r[1] = CTX
  const n = prog.length / 8
  const num = (i: number, pc: number): bigint => {
    const v = r[i]
    if (v === undefined) throw new Error(`pc ${pc}: r${i} read before it is set`)
    if (v === CTX) throw new Error(`pc ${pc}: arithmetic on the context pointer r${i}`)
    return v
  }
  for (let pc = 0; pc < n; pc++) {
    const code = prog[pc * 8]
    const dst = prog[pc * 8 + 1] & 0x0f
    const src = prog[pc * 8 + 1] >> 4
    const off = prog.readInt16LE(pc * 8 + 2)
    const imm = prog.readInt32LE(pc * 8 + 4)
    const jump = (taken: boolean) => {
      if (off < 0) throw new Error(`pc ${pc}: backward jump`)
      if (taken) pc += off
      if (pc + 1 >= n) throw new Error(`pc ${pc}: jump past the end`)
    }
    switch (code) {
      case 0x61: // ldxw
        if (r[src] !== CTX || off < 0 || off % 4 !== 0 || off + 4 > ctx.length) throw new Error(`pc ${pc}: bad load r${src}+${off}`)
        r[dst] = BigInt(ctx.readUInt32LE(off))
        break
      case 0x57: r[dst] = num(dst, pc) & sx32(imm); break
      case 0x77: r[dst] = (num(dst, pc) >> BigInt(imm & 63)) & U64; break
      case 0xbf: r[dst] = num(src, pc); break
      case 0xb7: r[dst] = sx32(imm); break
      case 0xb4: r[dst] = BigInt(imm >>> 0); break
      case 0x15: jump(num(dst, pc) === sx32(imm)); break
      case 0x55: jump(num(dst, pc) !== sx32(imm)); break
      case 0x5d: jump(num(dst, pc) !== num(src, pc)); break
      case 0x95: return Number(num(0, pc))
      default: throw new Error(`pc ${pc}: opcode 0x${code.toString(16)} not known to this interpreter`)
    }
  }
  throw new Error('program falls off its end')
}
