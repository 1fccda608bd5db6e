// When pre-copy stops its rounds and freezes the container (pure; unit-tested in test/unit/migrate/stop-rules.test.ts).
// Each round sends what the container dirtied during the one before, so the last round's size is what the final dump,
// taken during the freeze, is expected to hold. Stop when:
//   1. it fits: sending that many bytes at the link rate measured so far takes no longer than the downtime budget;
//   2. it no longer pays: the round did not shrink the dirty set by a worthwhile fraction (the container dirties
//      memory about as fast as the link sends it, so more rounds only move the same pages again);
//   3. enough: the round count reached the maximum.

export interface PreCopyRound {
  /** 1-based */
  n: number
  /** the pre-dump itself (CRIU freezes the tasks briefly, then writes the pages while they run) */
  dumpMs: number
  /** streaming the round's images to the target */
  transferMs: number
  /** bytes of memory pages in the round (pages-*.img) */
  pageBytes: number
  /** bytes sent for the round (the tar stream: pages and metadata) */
  bytes: number
}

export interface StopRules {
  /** the time the final dump's pages may take on the link */
  downtimeBudgetMs: number
  maxRounds: number
  /** a round must be at most this fraction of the one before, or the rounds stop */
  minShrink: number
}

export const DEFAULT_STOP_RULES: StopRules = {downtimeBudgetMs: 500, maxRounds: 8, minShrink: 0.8}

export type StopVerdict = {stop: false} | {stop: true; why: string}

/** Bytes per ms the link carried over every round so far (transfers shorter than 1 ms count as 1 ms). */
export function linkRate(rounds: PreCopyRound[]): number {
  const bytes = rounds.reduce((a, r) => a + r.bytes, 0)
  const ms = rounds.reduce((a, r) => a + Math.max(r.transferMs, 1), 0)
  return bytes / ms
}

export function decideStop(rounds: PreCopyRound[], rules: StopRules = DEFAULT_STOP_RULES): StopVerdict {
  const last = rounds.at(-1)
  if (!last) return {stop: false}
  const rate = linkRate(rounds)
  const expectedMs = rate > 0 ? last.pageBytes / rate : Infinity
  if (expectedMs <= rules.downtimeBudgetMs) {
    return {stop: true, why: `the dirty memory (${kib(last.pageBytes)}) fits the downtime budget: ~${Math.round(expectedMs)} ms at ${mibs(rate)} (budget ${rules.downtimeBudgetMs} ms)`}
  }
  const prev = rounds.at(-2)
  if (prev && last.pageBytes > prev.pageBytes * rules.minShrink) {
    return {stop: true, why: `round ${last.n} did not shrink the dirty memory enough (${kib(prev.pageBytes)} -> ${kib(last.pageBytes)}): the container dirties memory about as fast as the link sends it`}
  }
  if (rounds.length >= rules.maxRounds) return {stop: true, why: `${rules.maxRounds === 1 ? '1 round' : `${rules.maxRounds} rounds`}, the maximum`}
  return {stop: false}
}

const kib = (b: number) => (b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${(b / 1024).toFixed(0)} KiB`)
const mibs = (bytesPerMs: number) => `${((bytesPerMs * 1000) / 2 ** 20).toFixed(1)} MiB/s`
