// A fresh OCI bundle per test (crun's base_config idea): a tmp dir with config.json, a fresh state root beside
// it, and a container id, all removed by the test's cleanup. By default the rootfs is the shared, read-only
// PROBE_ROOTFS, referenced by absolute path with root.readonly true, so nothing is copied; {copyRootfs: true}
// gives the test its own writable copy (cp -a) instead.
//
//   const b = makeBundle(t, (spec) => { spec.process!.args = ['/bin/probe', 'id'] })
//   const r = await ocirt(['run', b.id], {root: b.root, cwd: b.dir})
//
// The base spec is written here, not taken from src/core/spec/defaults.ts: tests must not inherit a bug of
// the code under test. It is runc's `runc spec` default without a terminal (so output can be captured),
// running `/bin/probe true`, and without the /sys/fs/cgroup mount (tests that need it add it).
import {execFileSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type {Spec} from '../../src/core/spec/types'
import {Cleanup, cleanupFor, type AfterHost} from './cleanup'
import {PROBE, PROBE_ROOTFS} from './paths'

const CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']

/** The base spec of test bundles (a new object each call). */
export function testSpec(): Spec {
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false,
      user: {uid: 0, gid: 0},
      args: [PROBE, 'true'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {bounding: [...CAPS], effective: [...CAPS], permitted: [...CAPS], ambient: [...CAPS]},
      rlimits: [{type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024}],
      noNewPrivileges: true,
    },
    root: {path: PROBE_ROOTFS, readonly: true},
    hostname: 'probe',
    mounts: [
      {destination: '/proc', type: 'proc', source: 'proc'},
      {destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k']},
      {
        destination: '/dev/pts', type: 'devpts', source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      {destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k']},
      {destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev']},
      {destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro']},
    ],
    linux: {
      resources: {devices: [{allow: false, access: 'rwm'}]},
      namespaces: [{type: 'pid'}, {type: 'network'}, {type: 'ipc'}, {type: 'uts'}, {type: 'mount'}],
      maskedPaths: [
        '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
        '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  }
}

/** Overrides: a function that edits the spec in place (or returns a replacement), or a deep-merged patch. */
export type SpecOverride = ((spec: Spec) => void | Spec) | DeepPartial<Spec>
type DeepPartial<T> = T extends (infer U)[] ? U[] : T extends object ? {[K in keyof T]?: DeepPartial<T[K]>} : T

export interface BundleOptions {
  /** Give the test its own writable copy of the rootfs at <bundle>/rootfs (root.path "rootfs"). */
  copyRootfs?: boolean
  /** Prefix of the generated container id (default "t"). */
  idPrefix?: string
}

export interface Bundle {
  /** The bundle directory (config.json); pass as --bundle or cwd. */
  dir: string
  /** A fresh state root for --root (not created: ocirt creates it, as runc does). */
  root: string
  /** The rootfs directory on the host: PROBE_ROOTFS, or the copy. */
  rootfsDir: string
  /** A fresh container id, already registered with the cleanup (delete --force in root). */
  id: string
  /** The spec as written to config.json. */
  spec: Spec
  cleanup: Cleanup
  /** Rewrite config.json, after editing `spec` or with a new override. */
  writeSpec(override?: SpecOverride): void
}

let counter = 0

/** A container id unique on this machine for the test run: prefix-pid-counter-random. */
export function uniqueId(prefix = 't'): string {
  return `${prefix}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 6)}`
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Merge patch into target: objects recursively, everything else (arrays included) replaced. */
function deepMerge(target: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(patch)) {
    if (isObject(v) && isObject(target[k])) deepMerge(target[k] as Record<string, unknown>, v)
    else target[k] = v
  }
}

function applyOverride(spec: Spec, override: SpecOverride | undefined): Spec {
  if (override === undefined) return spec
  if (typeof override === 'function') return override(spec) ?? spec
  deepMerge(spec as unknown as Record<string, unknown>, override as Record<string, unknown>)
  return spec
}

/**
 * Make a bundle in a new tmp dir, removed (with the state root and a possible rootfs copy) by the cleanup of
 * `owner`: a Cleanup, or a test context / after hook to make one for.
 */
export function makeBundle(owner: Cleanup | AfterHost, override?: SpecOverride, opts: BundleOptions = {}): Bundle {
  if (!fs.existsSync(path.join(PROBE_ROOTFS, 'bin', 'probe'))) {
    throw new Error(`${PROBE_ROOTFS} is not built: run scripts/build-rootfs.sh (or scripts/setup.sh)`)
  }
  const cleanup = owner instanceof Cleanup ? owner : cleanupFor(owner)
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-test-'))
  cleanup.dir(base)
  const dir = path.join(base, 'bundle')
  const root = path.join(base, 'state')
  fs.mkdirSync(dir)

  let spec = testSpec()
  let rootfsDir = PROBE_ROOTFS
  if (opts.copyRootfs) {
    rootfsDir = path.join(dir, 'rootfs')
    execFileSync('cp', ['-a', PROBE_ROOTFS, rootfsDir])
    spec.root = {path: 'rootfs', readonly: false}
  }
  const id = uniqueId(opts.idPrefix)
  cleanup.container(id, root)

  const bundle: Bundle = {
    dir, root, rootfsDir, id, spec, cleanup,
    writeSpec(more?: SpecOverride) {
      bundle.spec = applyOverride(bundle.spec, more)
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(bundle.spec, null, 2) + '\n')
    },
  }
  spec = applyOverride(spec, override)
  bundle.spec = spec
  bundle.writeSpec()
  return bundle
}
