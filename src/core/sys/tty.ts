// Terminal ioctls Node has no API for.
import * as fs from 'node:fs'
import {check, loadLibc} from './libc'

const TIOCSWINSZ = 0x5414

export function setWinsize(fd: number, rows: number, cols: number): void {
  const {ioctl} = loadLibc()
  check(ioctl(fd, TIOCSWINSZ, 'ocirt_winsize *', {ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0}), 'ioctl TIOCSWINSZ')
}

const TERMIOS_SIZE = 60 // sizeof(struct termios) with glibc on Linux
const TCSANOW = 0

/**
 * Puts the terminal on `fd` in raw mode the way cfmakeraw(3) does (output processing off too: Node's
 * setRawMode keeps ONLCR, which would turn the container's \r\n into \r\r\n). Returns the restore function.
 */
export function makeRaw(fd: number): () => void {
  const {koffi, lib} = loadTermios()
  const saved = Buffer.alloc(TERMIOS_SIZE)
  check(lib.tcgetattr(fd, saved), 'tcgetattr')
  const raw = Buffer.from(saved)
  lib.cfmakeraw(raw)
  check(lib.tcsetattr(fd, TCSANOW, raw), 'tcsetattr')
  void koffi
  return () => {
    lib.tcsetattr(fd, TCSANOW, saved)
  }
}

type TermiosFns = {tcgetattr: (fd: number, b: Buffer) => number; tcsetattr: (fd: number, a: number, b: Buffer) => number; cfmakeraw: (b: Buffer) => void}
let termios: {koffi: unknown; lib: TermiosFns} | undefined

function loadTermios() {
  if (termios) return termios
  const {koffi, lib} = loadLibc()
  termios = {
    koffi,
    lib: {
      tcgetattr: lib.func('int tcgetattr(int fd, _Out_ uint8_t *t)') as TermiosFns['tcgetattr'],
      tcsetattr: lib.func('int tcsetattr(int fd, int act, const uint8_t *t)') as TermiosFns['tcsetattr'],
      cfmakeraw: lib.func('void cfmakeraw(_Inout_ uint8_t *t)') as TermiosFns['cfmakeraw'],
    },
  }
  return termios
}

const TIOCSPTLCK = 0x40045431
const TIOCGPTN = 0x80045430
const TIOCGPTPEER = 0x5441
const O_NOCTTY = 0o400

export interface Pty {
  master: number
  slave: number
  /** the slave's path in the devpts the master came from */
  slavePath: string
}

/** A new pty pair from `ptmx` (unlocked; both ends O_NOCTTY, close-on-exec). */
export function openPty(ptmx = '/dev/ptmx'): Pty {
  const {ioctl} = loadLibc()
  const master = fs.openSync(ptmx, fs.constants.O_RDWR | O_NOCTTY)
  try {
    check(ioctl(master, TIOCSPTLCK, 'void *', Buffer.alloc(4)), 'ioctl TIOCSPTLCK')
    const index = Buffer.alloc(4)
    check(ioctl(master, TIOCGPTN, 'void *', index), 'ioctl TIOCGPTN')
    // TIOCGPTPEER opens the slave of this very master, whatever path the mount table shows for it
    const slave = check(ioctl(master, TIOCGPTPEER, 'int', fs.constants.O_RDWR | O_NOCTTY | 0o2000000), 'ioctl TIOCGPTPEER')
    return {master, slave, slavePath: `/dev/pts/${index.readUInt32LE(0)}`}
  } catch (err) {
    fs.closeSync(master)
    throw err
  }
}
