// The starter config.json of `ocirt spec` (runc's `runc spec` and `runc spec --rootless`, key for key and in
// runc's key order) and specToJson(), which prints a spec the way runc does.
import {SPEC_VERSION} from '../version'
import type {Mount, Spec} from './types'

const DEFAULT_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']

const MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi',
]

const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']

function defaultMounts(): Mount[] {
  return [
    {destination: '/proc', type: 'proc', source: 'proc'},
    {destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k']},
    {
      destination: '/dev/pts', type: 'devpts', source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k']},
    {destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev']},
    {destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro']},
    {destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro']},
  ]
}

/** What `runc spec` writes: a read-only rootfs "rootfs", `sh` on a terminal, five new namespaces. */
export function defaultSpec(): Spec {
  return {
    ociVersion: SPEC_VERSION,
    process: {
      terminal: true,
      user: {uid: 0, gid: 0},
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: [...DEFAULT_CAPS],
        effective: [...DEFAULT_CAPS],
        permitted: [...DEFAULT_CAPS],
        ambient: [...DEFAULT_CAPS],
      },
      rlimits: [{type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024}],
      noNewPrivileges: true,
    },
    root: {path: 'rootfs', readonly: true},
    hostname: 'runc',
    mounts: defaultMounts(),
    linux: {
      resources: {devices: [{allow: false, access: 'rwm'}]},
      namespaces: [{type: 'pid'}, {type: 'network'}, {type: 'ipc'}, {type: 'uts'}, {type: 'mount'}],
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
  }
}

/**
 * What `runc spec --rootless` writes for a user with effective ids uid/gid: the default spec in a new user
 * namespace mapping container root to that user, without a network namespace (no way to wire one up),
 * without cgroup resources, with /sys bind-mounted (sysfs cannot be mounted without a network namespace of
 * one's own) and without devpts' gid=5 (the group is not mapped).
 */
export function rootlessSpec(uid: number, gid: number): Spec {
  const spec = defaultSpec()
  const linux = spec.linux!
  spec.mounts = spec.mounts!.map((m) => {
    if (m.destination === '/sys') {
      return {destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro']}
    }
    if (m.type === 'devpts') return {...m, options: m.options!.filter((o) => o !== 'gid=5')}
    return m
  })
  // rebuilt so the keys keep runc's order: uidMappings, gidMappings, namespaces, maskedPaths, readonlyPaths
  spec.linux = {
    uidMappings: [{containerID: 0, hostID: uid, size: 1}],
    gidMappings: [{containerID: 0, hostID: gid, size: 1}],
    namespaces: [...linux.namespaces!.filter((n) => n.type !== 'network'), {type: 'user'}],
    maskedPaths: linux.maskedPaths,
    readonlyPaths: linux.readonlyPaths,
  }
  return spec
}

// Go's encoding/json escapes these even inside strings; runc's output therefore does too.
const GO_ESCAPES: Record<string, string> = {
  '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029',
}

/**
 * A spec as runc writes config.json: tab-indented, Go's HTML-safe escapes, no trailing newline. The
 * escaped characters can only occur inside JSON strings, so replacing them in the output is exact.
 */
export function specToJson(spec: Spec): string {
  return JSON.stringify(spec, null, '\t').replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c])
}
