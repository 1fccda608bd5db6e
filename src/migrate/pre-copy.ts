// Pre-copy: while the container runs, CRIU pre-dumps its memory in rounds (`pre-dump --track-mem`; round N>1 with
// the previous round as parent, so it holds only the pages dirtied since), each round streamed to the target as it
// is written. When the stop rules say so, the orchestrator freezes the container and takes the final dump with the
// last round as parent: only what changed since travels during the freeze.
//
// Layout, the same on both hosts, so that CRIU's relative `parent` links resolve on the target as they do here:
//   <staging>/pre-1, <staging>/pre-2 (parent -> ../pre-1), ..., <staging>/images (parent -> ../pre-N)
// The target's staging directory is the agent's (removed on commit and by its undo), so a rollback takes the
// rounds with it.
import * as fs from 'node:fs'
import * as path from 'node:path'
import type {Runtime} from '../core/runtime'
import {checkpoint, type CheckpointOptions} from '../core/lifecycle/checkpoint'
import type {UnpackChannel} from './channels'
import type {Reporter} from './report'
import {decideStop, DEFAULT_STOP_RULES, type PreCopyRound, type StopRules} from './stop-rules'

export interface PreCopyPlan {
  rt: Runtime
  id: string
  /** this host's staging directory of the migration */
  localStaging: string
  /** the target's (PrepareResult.staging) */
  remoteStaging: string
  /** opens an unpack channel into a directory on the target */
  openChannel(remoteDir: string): Promise<UnpackChannel>
  criuOpts: CheckpointOptions
  rep: Reporter
  /** races a wait against the user's interruption */
  guard<T>(p: Promise<T>): Promise<T>
  rules?: Partial<StopRules>
}

export interface PreCopyResult {
  rounds: PreCopyRound[]
  /** why the rounds stopped */
  stopped: string
  /** the final dump's --parent-path, relative to <staging>/images */
  parentPath: string
}

export class PreCopy {
  /** the pre-dump running now, if any: a rollback waits for it (criu is never killed while its parasite is in) */
  private running?: Promise<unknown>

  constructor(private readonly p: PreCopyPlan) {}

  async run(): Promise<PreCopyResult> {
    const {p} = this
    const rules = {...DEFAULT_STOP_RULES, ...p.rules}
    const rounds: PreCopyRound[] = []
    for (;;) {
      const n = rounds.length + 1
      const name = `pre-${n}`
      p.rep.begin(`pre-dump ${n}`)
      const channel = p.openChannel(path.join(p.remoteStaging, name))
      channel.catch(() => undefined) // awaited after the dump
      const dir = path.join(p.localStaging, name)
      const t0 = Date.now()
      const dumped = checkpoint(p.rt, p.id, {
        // CRIU's log beside the round, not in it: the round's directory is what goes to the target
        ...p.criuOpts, imagePath: dir, workPath: path.join(p.localStaging, `work-${n}`), preDump: true, parentPath: n > 1 ? `../pre-${n - 1}` : undefined,
      }, 'migrate')
      this.running = dumped.catch(() => undefined)
      await p.guard(dumped)
      this.running = undefined
      const dumpMs = Date.now() - t0
      const pageBytes = pagesIn(dir)
      const t1 = Date.now()
      const ch = await p.guard(channel)
      p.rep.watch(() => ch.sent())
      const bytes = await p.guard(ch.send(dir))
      const round: PreCopyRound = {n, dumpMs, transferMs: Date.now() - t1, pageBytes, bytes}
      rounds.push(round)
      const verdict = decideStop(rounds, rules)
      p.rep.end(bytes, `dump ${dumpMs} ms, pages ${mib(pageBytes)}, transfer ${round.transferMs} ms${verdict.stop ? `; stop: ${verdict.why}` : ''}`)
      if (verdict.stop) return {rounds, stopped: verdict.why, parentPath: `../${name}`}
    }
  }

  /** Resolves once no pre-dump runs (before a rollback resumes anything). */
  async settle(): Promise<void> {
    await this.running
  }
}

/** Bytes of memory pages in an image directory (pages-*.img; the rest is small metadata). */
export function pagesIn(dir: string): number {
  let total = 0
  for (const name of fs.readdirSync(dir)) {
    if (/^pages-\d+\.img$/.test(name)) total += fs.statSync(path.join(dir, name)).size
  }
  return total
}

function mib(bytes: number): string {
  return bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`
}
