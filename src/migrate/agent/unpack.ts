// `ocirt migrate-agent --unpack DIR --session STAGING`: one tar stream from the source into DIR on the target. The
// unpacker is a process of its own (one per SSH channel), so it registers in the migration's staging directory:
// a rollback kills every registered unpacker before it removes directories, or a late one could write them back.
import * as fs from 'node:fs'
import * as path from 'node:path'
import {OcirtError} from '../../core/errors'
import {extractTree} from '../stream'
import {debug} from '../../core/log'

const PID_PREFIX = 'unpacker-'

export async function unpack(dir: string, staging: string | undefined, input: NodeJS.ReadableStream): Promise<{bytes: number; entries: number}> {
  let registration: string | undefined
  if (staging) {
    if (!fs.existsSync(staging)) throw new OcirtError(`the migration's staging directory ${staging} is gone (rolled back): not unpacking into ${dir}`, {verb: 'migrate-agent', step: 'unpack'})
    registration = path.join(staging, `${PID_PREFIX}${process.pid}`)
    fs.writeFileSync(registration, '')
  }
  debug(`migrate-agent: unpacking into ${dir} (process up ${Math.round(performance.now())} ms)`)
  try {
    const done = await extractTree(dir, input)
    debug(`migrate-agent: unpacked ${done.entries} entries, ${done.bytes} bytes into ${dir}`)
    return done
  } finally {
    if (registration) fs.rmSync(registration, {force: true})
  }
}

/** Kills the unpackers registered in staging and waits (up to 5 s) until they are gone. */
export async function stopUnpackers(staging: string): Promise<void> {
  let names: string[] = []
  try {
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
