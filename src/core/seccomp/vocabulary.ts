// The OCI seccomp vocabulary and what each word means to libseccomp and the kernel. The compiler, the config
// validation and `ocirt features` all read these tables, so what ocirt lists is what it compiles.

/** SCMP_ACT_* values of libseccomp (seccomp.h); ERRNO and TRACE carry a 16-bit value in the low bits. */
export const ACTIONS = {
  SCMP_ACT_ALLOW: 0x7fff0000,
  SCMP_ACT_ERRNO: 0x00050000,
  SCMP_ACT_KILL: 0x00000000, // = KILL_THREAD, as libseccomp defines it
  SCMP_ACT_KILL_PROCESS: 0x80000000,
  SCMP_ACT_KILL_THREAD: 0x00000000,
  SCMP_ACT_LOG: 0x7ffc0000,
  SCMP_ACT_NOTIFY: 0x7fc00000,
  SCMP_ACT_TRACE: 0x7ff00000,
  SCMP_ACT_TRAP: 0x00030000,
} as const
export type ActionName = keyof typeof ACTIONS

/** Actions whose return value is errnoRet (defaultErrnoRet for the default action); EPERM when absent, as runc. */
export const ACTIONS_WITH_VALUE: readonly ActionName[] = ['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE']

/** enum scmp_compare of libseccomp. */
export const OPERATORS = {
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_LE: 3,
  SCMP_CMP_LT: 2,
  SCMP_CMP_MASKED_EQ: 7,
  SCMP_CMP_NE: 1,
} as const
export type OperatorName = keyof typeof OPERATORS

/** The architecture names of seccomp_arch_resolve_name for each OCI architecture. */
export const ARCHS = {
  SCMP_ARCH_AARCH64: 'aarch64',
  SCMP_ARCH_ARM: 'arm',
  SCMP_ARCH_MIPS: 'mips',
  SCMP_ARCH_MIPS64: 'mips64',
  SCMP_ARCH_MIPS64N32: 'mips64n32',
  SCMP_ARCH_MIPSEL: 'mipsel',
  SCMP_ARCH_MIPSEL64: 'mipsel64',
  SCMP_ARCH_MIPSEL64N32: 'mipsel64n32',
  SCMP_ARCH_PPC: 'ppc',
  SCMP_ARCH_PPC64: 'ppc64',
  SCMP_ARCH_PPC64LE: 'ppc64le',
  SCMP_ARCH_S390: 's390',
  SCMP_ARCH_S390X: 's390x',
  SCMP_ARCH_X32: 'x32',
  SCMP_ARCH_X86: 'x86',
  SCMP_ARCH_X86_64: 'x86_64',
} as const
export type ArchName = keyof typeof ARCHS

/** SECCOMP_FILTER_FLAG_* (linux/seccomp.h) a config may ask for. NEW_LISTENER is ocirt's to set (SCMP_ACT_NOTIFY). */
export const FLAGS = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32,
} as const
export type FlagName = keyof typeof FLAGS

export const FLAG_NEW_LISTENER = 8

export const EPERM = 1
