// The runtime context every core function takes: where state lives and how the runtime was invoked
// (the global flags of the CLI). Built once per process by the CLI, never mutated afterwards.
import * as fs from 'node:fs'
import * as path from 'node:path'

export interface RuntimeOptions {
  /** --root: the state directory (default /run/ocirt, or $XDG_RUNTIME_DIR/ocirt when rootless) */
  root?: string
  /** --rootless: auto | true | false */
  rootless?: 'auto' | 'true' | 'false'
  /** --criu: path of the criu binary */
  criu?: string
  /** --systemd-cgroup */
  systemdCgroup?: boolean
  debug?: boolean
}

export interface Runtime {
  readonly root: string
  readonly rootless: boolean
  readonly criu: string
  readonly systemdCgroup: boolean
  readonly debug: boolean
  /** effective uid of the caller */
  readonly euid: number
}

export function defaultRoot(rootless: boolean, env: NodeJS.ProcessEnv = process.env): string {
  if (!rootless) return '/run/ocirt'
  // runc: $XDG_RUNTIME_DIR/runc when set, else /tmp/runc-<uid>... keep the same shape for ocirt
  const xdg = env.XDG_RUNTIME_DIR
  if (xdg) return path.join(xdg, 'ocirt')
  return `/tmp/ocirt-${process.geteuid?.() ?? 0}`
}

/**
 * rootless=auto means, as in runc: rootless when not running as root, or as root of a user namespace other than
 * the initial one (`unshare -r`, rootlesskit), where cgroups and /run are still the real root's.
 */
export function isRootless(opt: RuntimeOptions['rootless'], euid: number, inUserNs: () => boolean = runningInUserNs): boolean {
  if (opt === 'true') return true
  if (opt === 'false') return false
  return euid !== 0 || inUserNs()
}

/** Whether this process runs in a user namespace other than the initial one (whose uid_map maps every id). */
export function runningInUserNs(): boolean {
  try {
    return fs.readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/).join(' ') !== '0 0 4294967295'
  } catch {
    return false
  }
}

export function createRuntime(opts: RuntimeOptions = {}): Runtime {
  const euid = process.geteuid?.() ?? 0
  const rootless = isRootless(opts.rootless ?? 'auto', euid)
  return {
    root: path.resolve(opts.root ?? defaultRoot(rootless)),
    rootless,
    criu: opts.criu ?? 'criu',
    systemdCgroup: opts.systemdCgroup ?? false,
    debug: opts.debug ?? false,
    euid,
  }
}
