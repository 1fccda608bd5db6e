// Post-copy's last phase: the container runs on the target while its pages follow. Both ends must finish: the
// source's dump once it served every page, the target's lazy-pages daemon once it has them all. Whichever ends
// first, the other gets a bounded wait: a page server nobody connects to never returns.
import {OcirtError, type ErrorContext} from '../core/errors'
import type {AgentClient} from './agent/client'
import {withTimeout} from './failures'

/** Resolves once every page is on the target; `guard` races each wait against the migration's interruption. */
export async function awaitPostCopy(agent: AgentClient, dumpDone: Promise<void>, guard: <T>(p: Promise<T>) => Promise<T>, ctx: ErrorContext): Promise<void> {
  const lazyDone = agent.request('lazy-done', {})
  lazyDone.catch(() => undefined)
  const first = await guard(Promise.race([dumpDone.then(() => 'dump' as const), lazyDone.then(() => 'lazy' as const)]))
  const lazy = first === 'lazy' ? await lazyDone : await guard(withTimeout(lazyDone, 60_000, "the target's lazy-pages daemon after the last page was served"))
  if (!lazy.ok) throw new OcirtError(`the target's lazy-pages daemon failed: ${lazy.detail}`, {...ctx, step: 'post-copy'})
  if (first === 'lazy') await guard(withTimeout(dumpDone, 30_000, 'the page server after the target had every page'))
}
