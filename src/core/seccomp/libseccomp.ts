// libseccomp through koffi, loaded on first use: only a config with linux.seccomp pays for koffi and the
// library. ocirt only builds and exports filters with it; the helper loads the BPF itself.
import {loadLibc} from '../sys/libc'

type Fn = (...args: unknown[]) => unknown

export interface Libseccomp {
  /** seccomp_init: a filter context with this default action, or null when libseccomp refuses the action */
  init(defaultAction: number): unknown
  release(ctx: unknown): void
  /** seccomp_arch_resolve_name: the AUDIT_ARCH token, 0 when libseccomp does not know the name */
  archToken(name: string): number
  /** seccomp_arch_add: 0, -EEXIST when present (the native one always is), other negative errnos */
  archAdd(ctx: unknown, token: number): number
  /** seccomp_syscall_resolve_name: the native number (negative pseudo numbers for other arches' calls), -1 unknown */
  syscallNumber(name: string): number
  /** seccomp_syscall_resolve_name_arch: the number on that architecture (x32's carry X32_SYSCALL_BIT), -1 unknown */
  syscallNumberOn(token: number, name: string): number
  /** seccomp_rule_add_array with conditions packed as struct scmp_arg_cmp[] */
  ruleAdd(ctx: unknown, action: number, syscall: number, conds: ArgCondition[]): number
  /** seccomp_export_bpf into a memfd and back: the raw struct sock_filter[] */
  exportBpf(ctx: unknown): Buffer
  /** libseccomp's version, e.g. "2.5.4" */
  version(): string
}

export interface ArgCondition {
  arg: number
  op: number
  a: bigint
  b: bigint
}

/** sizeof(struct scmp_arg_cmp): unsigned int arg, enum op, scmp_datum_t a, b. */
const ARG_CMP_SIZE = 24

let lib: Libseccomp | undefined

export function loadLibseccomp(): Libseccomp {
  if (lib) return lib
  const {koffi} = loadLibc()
  const so = koffi.load('libseccomp.so.2')
  const libc = koffi.load('libc.so.6')
  koffi.struct('ocirt_scmp_version', {major: 'uint', minor: 'uint', micro: 'uint'})
  const f = (sig: string) => so.func(sig) as Fn
  const init = f('void *seccomp_init(uint32_t def_action)')
  const release = f('void seccomp_release(void *ctx)')
  const archResolve = f('uint32_t seccomp_arch_resolve_name(const char *name)')
  const archAdd = f('int seccomp_arch_add(void *ctx, uint32_t arch_token)')
  const syscallResolve = f('int seccomp_syscall_resolve_name(const char *name)')
  const syscallResolveArch = f('int seccomp_syscall_resolve_name_arch(uint32_t arch_token, const char *name)')
  const ruleAdd = f('int seccomp_rule_add_array(void *ctx, uint32_t action, int syscall, unsigned int arg_cnt, const void *arg_array)')
  const exportBpf = f('int seccomp_export_bpf(void *ctx, int fd)')
  const version = f('const ocirt_scmp_version *seccomp_version()')
  const memfdCreate = libc.func('int memfd_create(const char *name, unsigned int flags)') as Fn
  const MFD_CLOEXEC = 1

  lib = {
    init: (action) => init(action),
    release: (ctx) => void release(ctx),
    archToken: (name) => archResolve(name) as number,
    archAdd: (ctx, token) => archAdd(ctx, token) as number,
    syscallNumber: (name) => syscallResolve(name) as number,
    syscallNumberOn: (token, name) => syscallResolveArch(token, name) as number,
    ruleAdd: (ctx, action, syscall, conds) => {
      const arr = Buffer.alloc(Math.max(1, conds.length) * ARG_CMP_SIZE)
      conds.forEach((c, i) => {
        arr.writeUInt32LE(c.arg, i * ARG_CMP_SIZE)
        arr.writeUInt32LE(c.op, i * ARG_CMP_SIZE + 4)
        arr.writeBigUInt64LE(c.a, i * ARG_CMP_SIZE + 8)
        arr.writeBigUInt64LE(c.b, i * ARG_CMP_SIZE + 16)
      })
      return ruleAdd(ctx, action, syscall, conds.length, conds.length ? arr : null) as number
    },
    exportBpf: (ctx) => {
      const fs = require('node:fs') as typeof import('node:fs')
      const fd = memfdCreate('ocirt-seccomp', MFD_CLOEXEC) as number
      if (fd < 0) throw Object.assign(new Error('memfd_create failed'), {code: `errno ${koffi.errno()}`})
      try {
        const rc = exportBpf(ctx, fd) as number
        if (rc < 0) throw Object.assign(new Error('seccomp_export_bpf failed'), {code: `errno ${-rc}`})
        const size = fs.fstatSync(fd).size
        const out = Buffer.alloc(size)
        for (let off = 0; off < size;) off += fs.readSync(fd, out, off, size - off, off)
        return out
      } finally {
        fs.closeSync(fd)
      }
    },
    version: () => {
      const v = koffi.decode(version(), 'ocirt_scmp_version') as {major: number; minor: number; micro: number}
      return `${v.major}.${v.minor}.${v.micro}`
    },
  }
  return lib
}
