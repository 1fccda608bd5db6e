// What moves during the freeze besides the dump itself: the bundle's changes since the sync (files touched since,
// and paths deleted since), and the dump's images. Both go over channels and an agent opened before the freeze.
import type {AgentClient} from './agent/client'
import type {Requests} from './agent/protocol'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type {BundlePlan, SyncItem} from './bundle-plan'
import type {UnpackChannel} from './channels'
import {readSmallImageDir} from './image-files'
import {listTree} from './stream'

/** The trees of the plan's items as they were at the sync: what is missing from them later was deleted. */
export function snapshotTrees(plan: BundlePlan): Promise<string[][]> {
  return Promise.all(plan.items.map((i) => listTree(i.local)))
}

/**
 * Sends what changed under each item since `syncedAt` on its own channel and removes on the target what was deleted
 * since `before`; resolves with the bytes sent. The target's config.json is the rewritten one (write-config), never
 * the source's.
 */
export function sendChanges(plan: BundlePlan, channels: UnpackChannel[], agent: AgentClient, syncedAt: number, before: string[][]): Promise<number> {
  return Promise.all([
    ...plan.items.map((item, i) => {
      const scratch = criuScratchIn(item.local, rootfsIn(plan, item), new Set(before[i]))
      const ignore = item.what === 'bundle' ? (rel: string) => isConfig(rel) || scratch(rel) : scratch
      return channels[i].send(item.local, {changedSince: syncedAt, ignore})
    }),
    removeDeleted(plan, agent, before).then(() => 0),
  ]).then((bytes) => bytes.reduce((a, b) => a + b, 0))
}

/**
 * A post-copy dump's few small images go in one agent request (which starts the target's lazy-pages daemon too); anything bigger (or an older agent) takes the tar
 * channel, opened before the freeze or (post-copy, where it is hardly ever needed) only then.
 */
export async function sendImages(agent: AgentClient, channel: () => UnpackChannel | Promise<UnpackChannel>, images: string, lazyPages?: Requests['put-images']['params']['lazyPages']): Promise<number> {
  const files = readSmallImageDir(images)
  if (files) {
    try {
      return (await agent.request('put-images', {files, ...(lazyPages ? {lazyPages} : {})})).bytes
    } catch (err) {
      if (!/^unknown request/.test((err as Error).message)) throw err
    }
  }
  return (await channel()).send(images)
}

async function removeDeleted(plan: BundlePlan, agent: AgentClient, before: string[][]): Promise<void> {
  for (const [i, item] of plan.items.entries()) {
    const now = new Set(await listTree(item.local))
    const gone = before[i].filter((p) => !now.has(p))
    if (gone.length) await agent.request('remove-paths', {bundleDir: item.remote, paths: gone})
  }
}

const isConfig = (rel: string) => rel === 'config.json' || rel === './config.json'

/** where the container's rootfs is inside the item, relative to it ('' for the rootfs itself) */
function rootfsIn(plan: BundlePlan, item: SyncItem): string {
  return item.what === 'rootfs' ? '' : path.normalize(plan.config.root?.path ?? 'rootfs')
}

// CRIU's scratch mount point: to read a mount that has others on top of it (the container's /dev), the dump
// bind-mounts it, in the container's mount namespace, on a directory it makes in the container's /tmp (or in its root
// when there is no /tmp) and removes once it has read it. The bundle's changes are read while CRIU dumps: such a
// directory, made after the sync and empty as this mount namespace sees it, is CRIU's and not the container's, and
// may vanish while it is read.
const CRIU_SCRATCH = /^(tmp\/)?cr-tmpfs\.[A-Za-z0-9]{6}$/

/**
 * → true for CRIU's scratch mount points under `rootfs` (relative to the item at `itemDir`): named as CRIU names
 * them, missing from the sync's listing, and empty or gone
 */
export function criuScratchIn(itemDir: string, rootfs: string, atSync: Set<string>): (rel: string) => boolean {
  const prefix = rootfs === '' || rootfs === '.' ? '' : `${rootfs}/`
  return (rel) => {
    if (!rel.startsWith(prefix) || !CRIU_SCRATCH.test(rel.slice(prefix.length)) || atSync.has(rel)) return false
    try {
      return fs.readdirSync(path.join(itemDir, rel)).length === 0
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT' // gone already; a file of that name is the container's
    }
  }
}
