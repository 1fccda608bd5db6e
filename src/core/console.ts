// A foreground container with a terminal: ocirt holds the pty master and relays it to its own stdio, with the
// caller's terminal in raw mode and window-size changes passed on. Restores the terminal when done.
import * as fs from 'node:fs'
import {makeRaw, setWinsize} from './sys/tty'

export interface AttachedTerminal {
  /** resolves when the container side of the pty is closed */
  closed: Promise<void>
  detach(): void
}

export function attachTerminal(masterFd: number): AttachedTerminal {
  const stdin = process.stdin
  const restore = stdin.isTTY ? makeRaw(0) : undefined
  const resize = () => {
    if (process.stdout.isTTY) setWinsize(masterFd, process.stdout.rows, process.stdout.columns)
  }
  resize()
  process.on('SIGWINCH', resize)
  const toContainer = (chunk: Buffer) => {
    try {
      fs.writeSync(masterFd, chunk)
    } catch {
      // the container side is gone
    }
  }
  stdin.on('data', toContainer)
  const fromContainer = fs.createReadStream('', {fd: masterFd, autoClose: false, highWaterMark: 16 * 1024})
  fromContainer.on('data', (chunk) => process.stdout.write(chunk))
  const closed = new Promise<void>((resolve) => {
    // reading a master whose slave is closed everywhere fails with EIO: that is the end of the session
    fromContainer.once('error', () => resolve())
    fromContainer.once('end', () => resolve())
  })
  return {
    closed,
    detach() {
      process.off('SIGWINCH', resize)
      stdin.off('data', toContainer)
      stdin.pause()
      restore?.()
      // destroy() closes masterFd (an fs stream closes its fd on destroy, autoClose or not, once its read is
      // done): the caller must not close it again
      fromContainer.destroy()
    },
  }
}
