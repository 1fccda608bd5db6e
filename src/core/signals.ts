// SIGNALS: Linux x86_64 signal names and numbers, and parseSignal() with runc 1.1's rules for `kill`.
// Forwarding signals to a foreground container belongs to the verbs that run one.
import {InvalidInput, type ErrorContext} from './errors'

/** Standard signals, one name per number (no aliases such as IOT, POLL, CLD: runc refuses those names). */
export const SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8,
  SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15,
  SIGSTKFLT: 16, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22,
  SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGIO: 29,
  SIGPWR: 30, SIGSYS: 31,
}

/**
 * Real-time signals as glibc numbers them (the kernel's 32 and 33 are taken by the C library). runc 1.1
 * accepts them by number only; "RTMIN+3" is an unknown signal to it, and so to parseSignal.
 */
export const SIGRTMIN = 34
export const SIGRTMAX = 64

const DEFAULT_SIGNAL = SIGNALS.SIGTERM
// Go's strconv.Atoi: optional sign, decimal digits, int64 range
const INTEGER = /^[+-]?[0-9]+$/
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/**
 * A signal as `runc kill` takes it: a decimal number (any int64, unchecked, as runc leaves the range to
 * kill(2)), or a name in any case with or without "SIG" ("kill", "SIGKILL", "sigKill"). An empty string is
 * runc's default, SIGTERM. Anything else: InvalidInput `unknown signal "X"`, runc's text.
 */
export function parseSignal(raw: string, ctx: ErrorContext = {}): number {
  if (raw === '') return DEFAULT_SIGNAL
  if (INTEGER.test(raw)) {
    const n = BigInt(raw)
    if (n >= INT64_MIN && n <= INT64_MAX) return Number(n)
  } else {
    const upper = raw.toUpperCase()
    const name = upper.startsWith('SIG') ? upper : `SIG${upper}`
    if (Object.prototype.hasOwnProperty.call(SIGNALS, name)) return SIGNALS[name]
  }
  throw new InvalidInput(`unknown signal ${JSON.stringify(raw)}`, ctx)
}

/** "SIGKILL" for 9, "SIGRTMIN+3" for 37, else the number as text. */
export function signalName(n: number): string {
  for (const [name, num] of Object.entries(SIGNALS)) if (num === n) return name
  if (n >= SIGRTMIN && n <= SIGRTMAX) {
    return n - SIGRTMIN <= SIGRTMAX - n ? `SIGRTMIN${n === SIGRTMIN ? '' : `+${n - SIGRTMIN}`}` : `SIGRTMAX${n === SIGRTMAX ? '' : `-${SIGRTMAX - n}`}`
  }
  return String(n)
}
