// What every engine test shares: the seccomp switch, the image name, finding the engines' programs (and the
// skip reason when one is missing), unique names and private directories, and the host directories an engine
// creates outside them.
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {OCIRT_BIN, PROBE_ROOTFS} from '../paths'

/**
 * Engines run their containers with seccomp unconfined while ocirt refuses configs with linux.seccomp (the
 * seccomp branch is not merged yet). Set this to false once ocirt loads seccomp filters: the engines then pass
 * their default profiles and every engine test runs with them.
 */
export const SECCOMP_UNCONFINED = false

/** The flags podman and docker take for it (ctr passes no seccomp profile unless asked: see ctrSeccomp). */
export function securityOpts(): string[] {
  return SECCOMP_UNCONFINED ? ['--security-opt', 'seccomp=unconfined'] : []
}

/** `ctr run --seccomp` (containerd's default profile) once seccomp is in; nothing while it is not. */
export function ctrSeccomp(): string[] {
  return SECCOMP_UNCONFINED ? [] : ['--seccomp']
}

/** The seccomp mode every engine container must have under SECCOMP_UNCONFINED. */
export const EXPECTED_SECCOMP_MODE = SECCOMP_UNCONFINED ? 0 : 2

/** The image name every engine test imports the test rootfs under. */
export const IMAGE = 'localhost/ocirt-probe:latest'

/** The first of these programs found in PATH (or given as an absolute path), or undefined. */
export function findBin(...names: string[]): string | undefined {
  const dirs = (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')
  for (const name of names) {
    const candidates = name.startsWith('/') ? [name] : dirs.map((d) => path.join(d, name))
    for (const c of candidates) {
      try {
        fs.accessSync(c, fs.constants.X_OK)
        return c
      } catch {}
    }
  }
  return undefined
}

/** The skip reason of an engine test: the first missing program, root, ocirt's build, or the test rootfs. */
export function engineMissing(engine: string, ...programs: string[]): string | false {
  if (process.getuid?.() !== 0) return `${engine}: needs root`
  for (const p of programs) {
    if (!findBin(p)) return `${engine}: ${p} is not installed (scripts/setup.sh installs it)`
  }
  if (!fs.existsSync(OCIRT_BIN)) return `${engine}: ${OCIRT_BIN} missing (npm run build)`
  if (!fs.existsSync(path.join(PROBE_ROOTFS, 'bin', 'probe'))) return `${engine}: test rootfs not built (scripts/build-rootfs.sh)`
  return false
}

/** A name no other test run uses: PREFIX-<pid>-<random>. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
}

/** A fresh private directory for one engine test run (the caller registers it for removal). */
export function privateDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`))
}

/** Directories the engine creates outside its private ones (e.g. /run/containerd): removed when they did not exist before and are empty. */
export function removeIfNewAndEmpty(existedBefore: Set<string>, dirs: string[]): void {
  for (const dir of dirs) {
    if (existedBefore.has(dir) || !fs.existsSync(dir)) continue
    try {
      fs.rmdirSync(dir)
    } catch (e) {
      process.stderr.write(`engine cleanup: ${dir} left (${(e as NodeJS.ErrnoException).code})\n`)
    }
  }
}

/** Which of DIRS exist now. */
export function existing(dirs: string[]): Set<string> {
  return new Set(dirs.filter((d) => fs.existsSync(d)))
}
