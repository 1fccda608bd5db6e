// `ocirt features`: what this runtime supports, in runc 1.1's JSON shape and key order, assembled from the
// tables the code itself uses (namespaces, capabilities, mount options, hooks) so it cannot drift from them.
import {namespaceTypes} from './namespaces'
import {capNames} from './process/capabilities'
import {mountOptionNames} from './mounts/options'
import {HOOK_NAMES} from './spec/types'
import {SPEC_VERSION, version} from './version'

/** Oldest config version accepted (validate.ts takes any 1.x). */
export const OCI_VERSION_MIN = '1.0.0'

/** Seccomp vocabulary the compiler accepts (runc 1.1.5 with libseccomp 2.5.4 lists the same). */
export const SECCOMP_ACTIONS: readonly string[] = [
  'SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY', 'SCMP_ACT_TRACE', 'SCMP_ACT_TRAP',
]
export const SECCOMP_OPERATORS: readonly string[] = [
  'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_LE', 'SCMP_CMP_LT', 'SCMP_CMP_MASKED_EQ', 'SCMP_CMP_NE',
]
export const SECCOMP_ARCHS: readonly string[] = [
  'SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM', 'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_PPC', 'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390', 'SCMP_ARCH_S390X', 'SCMP_ARCH_X32', 'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64',
]

/**
 * What the runtime itself can do, whatever the host offers. The init helper does not yet write an
 * AppArmor profile or an SELinux label, Intel RDT is out of scope, and seccomp filters are not compiled yet
 * (the helper can load BPF; the libseccomp compiler is the missing half); validate.ts refuses configs that
 * ask for them rather than start a container less confined than asked. Flip these with the code.
 */
export const RUNTIME_SUPPORT = {
  apparmor: false,
  selinux: false,
  intelRdt: false,
  seccomp: false,
  cgroup: {v1: true, v2: true, systemd: false, systemdUser: false},
} as const

export interface Features {
  ociVersionMin: string
  ociVersionMax: string
  hooks: string[]
  mountOptions: string[]
  linux: {
    namespaces: string[]
    capabilities: string[]
    cgroup: {v1: boolean; v2: boolean; systemd: boolean; systemdUser: boolean}
    seccomp: {enabled: boolean; actions: string[]; operators: string[]; archs: string[]}
    apparmor: {enabled: boolean}
    selinux: {enabled: boolean}
  }
  annotations: Record<string, string>
}

/** The `features` document; `annotations` adds to (or overrides) the runtime's own. */
export function features(opts: {annotations?: Record<string, string>} = {}): Features {
  return {
    ociVersionMin: OCI_VERSION_MIN,
    ociVersionMax: SPEC_VERSION,
    hooks: [...HOOK_NAMES],
    mountOptions: mountOptionNames(),
    linux: {
      namespaces: namespaceTypes(),
      capabilities: capNames(),
      cgroup: {...RUNTIME_SUPPORT.cgroup},
      seccomp: {
        enabled: RUNTIME_SUPPORT.seccomp,
        actions: [...SECCOMP_ACTIONS],
        operators: [...SECCOMP_OPERATORS],
        archs: [...SECCOMP_ARCHS],
      },
      apparmor: {enabled: RUNTIME_SUPPORT.apparmor},
      selinux: {enabled: RUNTIME_SUPPORT.selinux},
    },
    annotations: {'ocirt.version': version(), ...opts.annotations},
  }
}
