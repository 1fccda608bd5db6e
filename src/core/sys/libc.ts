// Where koffi is loaded: libc calls Node lacks (and, through loadLibc().koffi, libseccomp in ../seccomp). Loaded on
// first use (koffi costs ~15 ms to load), so verbs that never need it never pay for it.
import {OcirtError} from '../errors'
import * as os from 'node:os'

type Koffi = typeof import('koffi')
type Fn = (...args: unknown[]) => number

interface Libc {
  koffi: Koffi
  /** libc itself, loaded once: declare what a module needs with lib.func(...) */
  lib: ReturnType<Koffi['load']>
  syscall: Fn
  ioctl: Fn
  errno: () => number
}

let libc: Libc | undefined

export function loadLibc(): Libc {
  if (libc) return libc
  const koffi = require('koffi') as Koffi
  const lib = koffi.load('libc.so.6')
  koffi.struct('ocirt_winsize', {ws_row: 'uint16', ws_col: 'uint16', ws_xpixel: 'uint16', ws_ypixel: 'uint16'})
  libc = {
    koffi,
    lib,
    syscall: lib.func('long syscall(long number, ...)') as Fn,
    ioctl: lib.func('int ioctl(int fd, unsigned long request, ...)') as Fn,
    errno: () => koffi.errno(),
  }
  return libc
}

const ERRNO_NAMES = new Map<number, string>()

/** Throws a StepFailed-style error naming the call and errno when rc < 0. */
export function check(rc: number, call: string): number {
  if (rc >= 0) return rc
  const errno = loadLibc().errno()
  if (ERRNO_NAMES.size === 0) for (const [k, v] of Object.entries(os.constants.errno)) ERRNO_NAMES.set(v, k)
  throw new OcirtError(`${call} failed`, {step: call, errno: ERRNO_NAMES.get(errno) ?? `errno ${errno}`})
}
