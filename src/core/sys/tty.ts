// Terminal ioctls Node has no API for.
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
  const {koffi} = loadLibc()
  const lib = koffi.load('libc.so.6')
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
