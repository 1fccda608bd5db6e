// `ocirt migrate-agent --unpack DIR --session STAGING`: one tar stream from the source into DIR on the target. The
// unpacker is a process of its own (one per SSH channel), so it registers in the migration's staging directory:
// a rollback kills every registered unpacker before it removes directories, or a late one could write them back.
import {spawn} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {OcirtError} from '../../core/errors'
import {extractTree} from '../stream'
import {debug} from '../../core/log'
import {nativeFile} from '../../core/util/native-file'
import {collectGarbage} from '../../core/util/collect-garbage'

const PID_PREFIX = 'unpacker-'
/** the mark a rollback leaves in the staging directory before it stops the unpackers */
const ROLLED_BACK = 'rolled-back'
const PIPE_BYTES = 1 << 20

export async function unpack(dir: string, staging: string | undefined, input: NodeJS.ReadableStream): Promise<{bytes: number; entries: number}> {
  let registration: string | undefined
  if (staging) {
    if (!fs.existsSync(staging)) throw new OcirtError(`the migration's staging directory ${staging} is gone (rolled back): not unpacking into ${dir}`, {verb: 'migrate-agent', step: 'unpack'})
    registration = path.join(staging, `${PID_PREFIX}${process.pid}`)
    fs.writeFileSync(registration, '')
    // registered first, then the rollback's mark looked for (stopUnpackers marks, then looks): an unpacker that
    // registered too late to be seen by a rollback sees its mark
    if (fs.existsSync(path.join(staging, ROLLED_BACK))) {
      fs.unlinkSync(registration)
      throw new OcirtError(`the migration is being rolled back: not unpacking into ${dir}`, {verb: 'migrate-agent', step: 'unpack'})
    }
  }
  if (input === process.stdin) {
    growStdinPipe()
    collectWhileIdle(process.stdin)
  }
  debug(`migrate-agent: unpacking into ${dir} (process up ${Math.round(performance.now())} ms)`)
  try {
    const done = await extractTree(dir, input)
    debug(`migrate-agent: unpacked ${done.entries} entries, ${done.bytes} bytes into ${dir}`)
    return done
  } finally {
    // unlink, not rmSync: that loads Node's rimraf (~8 ms here) the first time, while the freeze waits
    if (registration) {
      try {
        fs.unlinkSync(registration)
      } catch {
        // removed by a rollback already
      }
    }
  }
}

/**
 * sshd hands the stream over through a 64 KiB pipe, and keeps what the pipe cannot take yet (up to the channel's
 * 2 MiB window) in a buffer it grows, compacts and reallocates around every write: the first 2.8 MiB over a fresh
 * connection cost ~300-400 ms of sshd's CPU that way here (new memory is costly on VMs), ~100 ms through a 1 MiB
 * pipe. The resize is native/pipe-size.c's, started beside the extraction (koffi would block this process ~25 ms);
 * without it, or where it fails (stdin not a pipe), the stream simply goes through the pipe as it is.
 */
function growStdinPipe(): void {
  const bin = nativeFile('ocirt-pipe-size')
  if (!bin) return
  // the helper gets the pipe through an open file description of its own: libuv makes a child's stdio blocking
  // before exec, and O_NONBLOCK belongs to the description, so handing over ours would leave this process's stdin
  // blocking, and its event loop stuck in read(2) whenever the pipe runs dry
  let fd: number
  try {
    fd = fs.openSync('/proc/self/fd/0', fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)
  } catch {
    return
  }
  try {
    const child = spawn(bin, [String(PIPE_BYTES)], {stdio: [fd, 'ignore', 'ignore']})
    child.on('error', () => undefined)
    child.on('exit', (code) => debug(`migrate-agent: stdin pipe ${code === 0 ? `now holds ${PIPE_BYTES} bytes` : 'left as it is'}`))
  } finally {
    fs.closeSync(fd)
  }
}

/**
 * An unpacker opened for the freeze waits, idle, for the bundle's changes, which then arrive while CRIU dumps: the
 * garbage of its start is collected while it waits (collect-garbage.ts), not then. One that has data at once (the
 * sync's) skips it.
 */
function collectWhileIdle(stdin: NodeJS.ReadStream): void {
  const timer = setTimeout(() => {
    if ((stdin as unknown as {bytesRead?: number}).bytesRead === 0) collectGarbage()
  }, IDLE_MS)
  timer.unref()
}

const IDLE_MS = 20

/**
 * Kills the unpackers registered in staging and waits (up to 5 s) until they are gone. It marks the staging
 * directory first: one that registers after the listing below sees the mark and unpacks nothing (unpack), where it
 * would otherwise write the bundle directory back after the rollback removed it.
 */
export async function stopUnpackers(staging: string): Promise<void> {
  let names: string[] = []
  try {
    fs.writeFileSync(path.join(staging, ROLLED_BACK), '')
    names = fs.readdirSync(staging).filter((n) => n.startsWith(PID_PREFIX))
  } catch {
    return
  }
  const pids = names.map((n) => Number(n.slice(PID_PREFIX.length))).filter((pid) => Number.isInteger(pid) && isUnpacker(pid))
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone already
    }
  }
  for (let i = 0; i < 250 && pids.some(isUnpacker); i++) await new Promise((r) => setTimeout(r, 20))
}

/** pid is (still) an unpacker, not a process that got its number since */
function isUnpacker(pid: number): boolean {
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    const state = /^State:\s+(\S)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return cmd.includes('migrate-agent') && cmd.includes('--unpack') && state !== 'Z'
  } catch {
    return false
  }
}
