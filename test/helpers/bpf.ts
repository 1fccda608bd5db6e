// A classic-BPF interpreter over struct seccomp_data, to ask a compiled filter what it returns for a syscall
// without loading it: the unit tests of the seccomp compiler run the program libseccomp exported.
//
//   const ret = runFilter(bpf, {nr: 83, arch: AUDIT_ARCH.X86_64, args: [0n]})   // e.g. 0x00050001 = ERRNO(EPERM)

export const AUDIT_ARCH = {X86_64: 0xc000003e, I386: 0x40000003} as const

/** SECCOMP_RET_* of the kernel: the action in the high 16 bits, data in the low 16. */
export const RET = {
  KILL_PROCESS: 0x80000000, KILL_THREAD: 0, TRAP: 0x00030000, ERRNO: 0x00050000, USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000, LOG: 0x7ffc0000, ALLOW: 0x7fff0000,
} as const

export interface SeccompData {
  nr: number
  arch: number
  ip?: bigint
  args?: bigint[]
}

function dataWord(d: SeccompData, offset: number): number {
  const buf = Buffer.alloc(64)
  buf.writeInt32LE(d.nr, 0)
  buf.writeUInt32LE(d.arch, 4)
  buf.writeBigUInt64LE(d.ip ?? 0n, 8)
  for (let i = 0; i < 6; i++) buf.writeBigUInt64LE(BigInt.asUintN(64, d.args?.[i] ?? 0n), 16 + 8 * i)
  if (offset % 4 || offset + 4 > 64) throw new Error(`filter reads seccomp_data at bad offset ${offset}`)
  return buf.readUInt32LE(offset)
}

/** Runs the program (struct sock_filter[] bytes) and returns the 32-bit value of its RET. */
export function runFilter(bpf: Buffer, d: SeccompData): number {
  const n = bpf.length / 8
  const mem = new Uint32Array(16)
  let a = 0
  let x = 0
  for (let pc = 0, steps = 0; pc < n; pc++, steps++) {
    if (steps > 100_000) throw new Error('filter does not terminate')
    const code = bpf.readUInt16LE(pc * 8)
    const jt = bpf[pc * 8 + 2]
    const jf = bpf[pc * 8 + 3]
    const k = bpf.readUInt32LE(pc * 8 + 4)
    const cls = code & 0x07
    const src = code & 0x08 ? x : k
    switch (cls) {
      case 0x00: // LD
      case 0x01: { // LDX
        const mode = code & 0xe0
        const v = mode === 0x20 ? dataWord(d, k) : mode === 0x00 ? k : mode === 0x60 ? mem[k] : mode === 0x80 ? 64 : NaN
        if (Number.isNaN(v) || (code & 0x18) !== 0) throw new Error(`unsupported load ${code.toString(16)} at ${pc}`)
        if (cls === 0x00) a = v
        else x = v
        break
      }
      case 0x02: mem[k] = a; break // ST
      case 0x03: mem[k] = x; break // STX
      case 0x04: { // ALU
        const op = code & 0xf0
        const r = op === 0x00 ? a + src : op === 0x10 ? a - src : op === 0x20 ? Math.imul(a, src) : op === 0x30 ? Math.floor(a / src)
          : op === 0x40 ? a | src : op === 0x50 ? a & src : op === 0x60 ? a << src : op === 0x70 ? a >>> src
          : op === 0x80 ? -a : op === 0x90 ? a % src : op === 0xa0 ? a ^ src : NaN
        if (Number.isNaN(r)) throw new Error(`unsupported alu ${code.toString(16)} at ${pc}`)
        a = r >>> 0
        break
      }
      case 0x05: { // JMP
        const op = code & 0xf0
        if (op === 0x00) {
          pc += k
          break
        }
        const cond = op === 0x10 ? a === src : op === 0x20 ? a > src : op === 0x30 ? a >= src : op === 0x40 ? (a & src) !== 0 : undefined
        if (cond === undefined) throw new Error(`unsupported jump ${code.toString(16)} at ${pc}`)
        pc += cond ? jt : jf
        break
      }
      case 0x06: return ((code & 0x18) === 0x10 ? a : k) >>> 0 // RET A or K
      case 0x07: if (code & 0x80) a = x; else x = a; break // TXA / TAX
    }
  }
  throw new Error('filter ran off its end')
}
