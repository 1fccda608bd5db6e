// Feature gates in the manner of runc's bats `requires`: a test that needs something this machine lacks is
// skipped with the reason, not failed.
//
//   test('checkpoint', async (t) => {
//     if (!requires(t, 'root', 'criu')) return      // t.skip() does not stop the test function by itself
//     ...
//   })
//   describe('rootless', {skip: missing('userns')}, () => { ... })
//
// Probes that run a program are done once per process and cached.
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {OCIRT_BIN, PROBE_BIN, PROBE_ROOTFS} from './paths'

export type Feature =
  | 'root' // running as uid 0
  | 'cgroup-v1' // v1 controllers mounted (hybrid or legacy)
  | 'cgroup-v2' // /sys/fs/cgroup is the unified hierarchy (pure v2 host)
  | 'criu' // `criu check` passes
  | 'userns' // an unprivileged user namespace can be created
  | 'seccomp' // libseccomp.so.2 present
  | 'runc' // runc in PATH
  | 'probe' // test fixtures built (probe and the test rootfs)
  | 'ocirt' // bin/ocirt and its build output present
  | 'sshd' // /usr/sbin/sshd present

const cache = new Map<Feature, string | undefined>()

function ok(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, {stdio: 'ignore', timeout: 30_000})
  return r.status === 0
}

function mountedTypes(): string[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((line) => {
    const fields = line.split(' ')
    return fields[fields.indexOf('-') + 1]
  })
}

const CHECKS: Record<Feature, () => string | undefined> = {
  root: () => (process.getuid?.() === 0 ? undefined : 'needs root'),
  'cgroup-v1': () => (mountedTypes().includes('cgroup') ? undefined : 'needs cgroup v1 controllers'),
  'cgroup-v2': () =>
    fs.existsSync('/sys/fs/cgroup/cgroup.controllers') ? undefined : 'needs a cgroup v2 (unified) host',
  criu: () => (ok('criu', ['check']) ? undefined : '`criu check` fails or criu is missing (scripts/install-criu.sh)'),
  userns: () => {
    const max = (() => {
      try {
        return Number(fs.readFileSync('/proc/sys/user/max_user_namespaces', 'utf8'))
      } catch {
        return 0
      }
    })()
    if (max === 0) return 'user namespaces are disabled'
    return ok('unshare', ['--user', '--map-root-user', 'true']) ? undefined : 'cannot create a user namespace'
  },
  seccomp: () => {
    const dirs = ['/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib']
    if (dirs.some((d) => fs.existsSync(path.join(d, 'libseccomp.so.2')))) return undefined
    const r = spawnSync('ldconfig', ['-p'], {encoding: 'utf8'})
    return r.stdout?.includes('libseccomp.so.2') ? undefined : 'needs libseccomp.so.2 (apt-get install libseccomp2)'
  },
  runc: () => (ok('runc', ['--version']) ? undefined : 'needs runc'),
  probe: () =>
    fs.existsSync(PROBE_BIN) && fs.existsSync(path.join(PROBE_ROOTFS, 'bin', 'probe'))
      ? undefined
      : 'test fixtures not built (make -C test/fixtures && scripts/build-rootfs.sh)',
  ocirt: () => (fs.existsSync(OCIRT_BIN) ? undefined : `${OCIRT_BIN} missing (npm run build)`),
  sshd: () => (fs.existsSync('/usr/sbin/sshd') ? undefined : 'needs sshd (apt-get install openssh-server)'),
}

/** Why FEATURE is missing here, or undefined when present. Cached. */
export function check(feature: Feature): string | undefined {
  if (!cache.has(feature)) cache.set(feature, CHECKS[feature]())
  return cache.get(feature)
}

/** Why the first missing feature is missing, for `{skip: missing(...)}` options; false when all are present. */
export function missing(...features: Feature[]): string | false {
  for (const f of features) {
    const why = check(f)
    if (why) return why
  }
  return false
}

/** Skip t (t.skip(reason)) and return false when a feature is missing; true when all are present. */
export function requires(t: {skip(message?: string): void}, ...features: Feature[]): boolean {
  const why = missing(...features)
  if (why === false) return true
  t.skip(why)
  return false
}
