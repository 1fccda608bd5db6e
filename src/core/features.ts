// `ocirt features`: what this runtime supports, in runc 1.1's JSON shape and key order (plus runc 1.3's netDevices), assembled from the
// tables the code itself uses (namespaces, capabilities, mount options, hooks) so it cannot drift from them.
import {namespaceTypes} from './namespaces'
import {capNames} from './process/capabilities'
import {mountOptionNames} from './mounts/options'
import {HOOK_NAMES} from './spec/types'
import {OCI_VERSION_MAX, version} from './version'
import {ACTIONS, ARCHS, FLAGS, OPERATORS} from './seccomp/vocabulary'

/** Oldest config version accepted (validate.ts takes any 1.x). */
export const OCI_VERSION_MIN = '1.0.0'

/** Seccomp vocabulary: the tables the compiler (src/core/seccomp/compile.ts) resolves names with. */
export const SECCOMP_ACTIONS: readonly string[] = Object.keys(ACTIONS).sort()
export const SECCOMP_OPERATORS: readonly string[] = Object.keys(OPERATORS).sort()
export const SECCOMP_ARCHS: readonly string[] = Object.keys(ARCHS).sort()
export const SECCOMP_FLAGS: readonly string[] = Object.keys(FLAGS)

/**
 * What the runtime itself can do, whatever the host offers. The init helper does not yet write an
 * AppArmor profile or an SELinux label and Intel RDT is out of scope; validate.ts refuses configs that
 * ask for them rather than start a container less confined than asked. Flip these with the code. Seccomp
 * filters are compiled with libseccomp (src/core/seccomp) and loaded by the helper.
 */
export const RUNTIME_SUPPORT = {
  apparmor: false,
  selinux: false,
  intelRdt: false,
  seccomp: true,
  netDevices: true,
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
    seccomp: {enabled: boolean; actions: string[]; operators: string[]; archs: string[]; knownFlags: string[]; supportedFlags: string[]}
    apparmor: {enabled: boolean}
    selinux: {enabled: boolean}
    /** OCI 1.2 (runc 1.3): linux.netDevices is applied (src/core/net/devices.ts) */
    netDevices: {enabled: boolean}
  }
  annotations: Record<string, string>
}

/** The `features` document; `annotations` adds to (or overrides) the runtime's own. */
export function features(opts: {annotations?: Record<string, string>} = {}): Features {
  return {
    ociVersionMin: OCI_VERSION_MIN,
    ociVersionMax: OCI_VERSION_MAX,
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
        knownFlags: [...SECCOMP_FLAGS],
        // asked of the running kernel (koffi, ~15 ms): `features` is not on a container's path
        supportedFlags: RUNTIME_SUPPORT.seccomp ? (require('./seccomp/kernel') as typeof import('./seccomp/kernel')).supportedFlags() : [],
      },
      apparmor: {enabled: RUNTIME_SUPPORT.apparmor},
      selinux: {enabled: RUNTIME_SUPPORT.selinux},
      netDevices: {enabled: RUNTIME_SUPPORT.netDevices},
    },
    annotations: {'ocirt.version': version(), ...opts.annotations},
  }
}
