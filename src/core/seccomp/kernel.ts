// What the running kernel's seccomp(2) accepts, asked of the kernel itself (runc asks the same way).
import * as os from 'node:os'
import {loadLibc} from '../sys/libc'
import {FLAG_NEW_LISTENER, FLAGS, type FlagName} from './vocabulary'

const SYS_SECCOMP: Partial<Record<string, number>> = {x64: 317, arm64: 277, ia32: 354, arm: 383, ppc64: 358, s390x: 348}
const SECCOMP_SET_MODE_FILTER = 1
const EFAULT = 14

const probed = new Map<number, boolean>()

/**
 * Whether seccomp(SECCOMP_SET_MODE_FILTER, flag, NULL) knows the flag: a known flag fails on the NULL program
 * with EFAULT, an unknown one with EINVAL. Nothing is loaded either way.
 */
export function kernelHasFlag(flag: number): boolean {
  const known = probed.get(flag)
  if (known !== undefined) return known
  const nr = SYS_SECCOMP[os.arch()]
  let ok = false
  if (nr !== undefined) {
    const {syscall, errno} = loadLibc()
    // WAIT_KILLABLE_RECV is refused (EINVAL) without a listener, whatever the kernel knows
    const asked = flag === FLAGS.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ? flag | FLAG_NEW_LISTENER : flag
    ok = syscall(nr, 'uint', SECCOMP_SET_MODE_FILTER, 'uint', asked, 'void *', null) < 0 && errno() === EFAULT
  }
  probed.set(flag, ok)
  return ok
}

/** The config flags this kernel takes (`ocirt features` lists them as supportedFlags). */
export function supportedFlags(): FlagName[] {
  return (Object.keys(FLAGS) as FlagName[]).filter((name) => kernelHasFlag(FLAGS[name]))
}
