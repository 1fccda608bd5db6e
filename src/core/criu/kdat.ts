// CRIU's kernel-data cache (/run/criu.kdat) on hosts whose /run is not a tmpfs. Every criu run starts by probing the
// kernel (~50 ms here: pagemap, a veth in a scratch netns, the vDSO...) unless it can load /run/criu.kdat, and CRIU
// writes that file only when /run is a tmpfs, so that it dies with the boot it describes. Most hosts have a tmpfs
// /run and never pay the probe twice; on one without (this project's VMs), a migration paid it three times inside
// its freeze: the dump, the target's lazy-pages daemon and the restore.
//
// ensureKdatCache makes what CRIU would have made: it runs `criu check` once in a private mount namespace with a
// tmpfs on /run, keeps the file CRIU saved there in /dev (a devtmpfs: gone at reboot as a tmpfs /run would be, and
// writable by root only, so nobody else can put a file there for criu to trust), and links /run/criu.kdat to it.
// After a reboot the link dangles and criu probes as before until the next migration makes the file again. Nothing
// is done where /run is a tmpfs, or where /run/criu.kdat is anything but our link.
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import type {Runtime} from '../runtime'
import {criuBinaryKey, criuVersion} from './client'
import {debug} from '../log'

export const KDAT_LINK = '/run/criu.kdat'
export const KDAT_STORE = '/dev/.ocirt-criu.kdat'
const TMPFS_MAGIC = 0x01021994
/** the check blocks the agent's event loop: it must end well inside the agent's lease (AGENT_LEASE_MS, 10 s) */
const KDAT_TIMEOUT_MS = 5_000

export type KdatState = 'criu keeps it' | 'cached' | 'made' | 'not ours' | 'unavailable'

export interface KdatPaths {
  run: string
  link: string
  store: string
  storeDir: string
}

const PATHS: KdatPaths = {run: '/run', link: KDAT_LINK, store: KDAT_STORE, storeDir: '/dev'}

/** Makes sure criu runs on this host load their kernel data instead of probing; never fails (a cost, not an error). */
export function ensureKdatCache(rt: Runtime, p: KdatPaths = PATHS, isTmpfs: (dir: string) => boolean = tmpfs, make: (criu: string) => Buffer | undefined = makeKdat): KdatState {
  try {
    if (isTmpfs(p.run)) return 'criu keeps it'
    if (!isTmpfs(p.storeDir)) return 'unavailable'
    const key = `${criuBinaryKey(rt) ?? ''} ${versionText(rt)}`
    let link: fs.Stats | undefined
    try {
      link = fs.lstatSync(p.link)
    } catch {
      // none yet
    }
    if (link && (!link.isSymbolicLink() || fs.readlinkSync(p.link) !== p.store)) return 'not ours'
    if (link && fs.existsSync(p.store) && readKey(p.store) === key) return 'cached'
    const data = make(rt.criu)
    if (!data?.length) return 'unavailable'
    const tmp = `${p.store}.${process.pid}`
    fs.writeFileSync(tmp, data, {mode: 0o600})
    fs.renameSync(tmp, p.store)
    fs.writeFileSync(`${p.store}.key`, key, {mode: 0o600})
    if (!link) {
      try {
        fs.symlinkSync(p.store, p.link)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err // made meanwhile by another migration
      }
    }
    debug(`criu kernel data cached in ${p.store} (${p.link} -> it): ${p.run} is not a tmpfs`)
    return 'made'
  } catch (err) {
    debug(`criu kernel data cache: ${(err as Error).message}`)
    return 'unavailable'
  }
}

/** criu's version in the key beside its binary's path, size and mtime (unknown: empty) */
function versionText(rt: Runtime): string {
  try {
    return criuVersion(rt, {verb: 'migrate'}).text
  } catch {
    return ''
  }
}

function readKey(store: string): string | undefined {
  try {
    return fs.readFileSync(`${store}.key`, 'utf8')
  } catch {
    return undefined
  }
}

function tmpfs(dir: string): boolean {
  try {
    return fs.statfsSync(dir).type === TMPFS_MAGIC
  } catch {
    return false
  }
}

/** CRIU saves its cache on a tmpfs /run only: give it one, in a mount namespace of its own, and take the file. */
function makeKdat(criu: string): Buffer | undefined {
  const script = 'mount -t tmpfs -o size=1m,mode=700 ocirt-kdat /run || exit 1; "$1" check --feature uffd-noncoop >/dev/null 2>&1; cat /run/criu.kdat'
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'kdat', criu], {stdio: ['ignore', 'pipe', 'ignore'], timeout: KDAT_TIMEOUT_MS})
  return r.status === 0 ? r.stdout : undefined
}
