// What moves during the freeze besides the dump itself: the bundle's changes since the sync (files touched since,
// and paths deleted since), and the dump's images. Both go over channels and an agent opened before the freeze.
import type {AgentClient} from './agent/client'
import type {Requests} from './agent/protocol'
import type {BundlePlan} from './bundle-plan'
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
    ...plan.items.map((item, i) => channels[i].send(item.local, {changedSince: syncedAt, ignore: item.what === 'bundle' ? isConfig : undefined})),
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
