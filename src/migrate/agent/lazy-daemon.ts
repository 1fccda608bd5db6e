// The agent's one lazy-pages daemon over a post-copy migration (the process itself: lazy-pages.ts). It may be
// started ahead of time and held at its gate (prepare-lazy-pages, before the freeze), then let go when the images
// are there (put-images) or, at the latest, when the restore needs it; a held one that never said it was held is
// replaced by a new one. Every daemon is stopped by the rollback (the agent's undo list) and by `stop`.
import {debug} from '../../core/log'
import type {Runtime} from '../../core/runtime'
import {holdLazyPages, startLazyPages, waitLazyPages, type HeldLazyPages, type LazyPagesDaemon, type LazyPagesInput} from './lazy-pages'

interface Undo {
  push(what: string, fn: () => void): void
}

export class LazyDaemon {
  private running?: LazyPagesDaemon
  /** started before the freeze, waiting at its gate */
  private held?: HeldLazyPages
  /** on its way up: let go of its gate or spawned (by put-images or by the restore) */
  private starting?: Promise<void>
  /** the daemon that runs is the one that was held */
  wasHeld = false

  constructor(private readonly rt: Runtime, private readonly undo: Undo) {}

  /** Starts one now, held at its gate; false where it cannot be (no gate library, a failed spawn) or one exists. */
  hold(input: LazyPagesInput): boolean {
    if (this.held || this.starting) return this.held !== undefined
    let held: HeldLazyPages | undefined
    try {
      held = holdLazyPages(this.rt, input)
    } catch (err) {
      // a start ahead of time that fails costs nothing but the time it would have saved: it starts with the images
      debug(`migrate-agent ${input.id}: no lazy-pages daemon ahead of time: ${(err as Error).message}`)
    }
    if (!held) return false
    this.held = held
    this.undo.push('stop the lazy-pages daemon held at its gate', () => held.stop())
    return true
  }

  /**
   * The daemon for the images now in the image directory: the held one let go (~2 ms to ready), else a new one,
   * spawned after `deferSpawn` resolves. Once only; resolves when it is up (the restore waits for that).
   */
  start(id: string, input: () => LazyPagesInput, deferSpawn?: Promise<void>): Promise<void> {
    if (this.starting) return this.starting
    const held = this.takeHeld()
    const started = Date.now()
    const daemon = held ? held.open() : (deferSpawn ?? Promise.resolve()).then(() => startLazyPages(this.rt, input()))
    this.starting = daemon.then((d) => {
      this.running = d
      this.wasHeld = held !== undefined
      this.undo.push('stop the lazy-pages daemon', () => d.stop())
      debug(`migrate-agent ${id}: lazy-pages daemon up after ${Date.now() - started} ms${held ? ' (held at its gate since before the freeze)' : ''}`)
    })
    this.starting.catch(() => undefined) // the restore (or the rollback) awaits it and reports its error
    return this.starting
  }

  /** whether start was called */
  get started(): boolean {
    return this.starting !== undefined
  }

  /** Resolves when the daemon has every page (or failed); at once without one. */
  done(): Promise<{ok: boolean; detail: string}> {
    return this.running ? waitLazyPages(this.running) : Promise.resolve({ok: true, detail: 'no lazy-pages daemon'})
  }

  /** Stops what runs or waits; one still starting is stopped once it is up (settle). */
  stop(): void {
    this.held?.stop()
    this.running?.stop()
  }

  /** stop, then waits for one still starting and stops it too */
  async settle(): Promise<void> {
    this.stop()
    await this.starting?.catch(() => undefined)
    this.running?.stop()
  }

  /** the migration committed: a held daemon that was never let go is not needed */
  dropHeld(): void {
    this.takeHeld()?.stop()
  }

  /** the held daemon, if it still waits at its gate (one that ended or never said so is stopped and dropped) */
  private takeHeld(): HeldLazyPages | undefined {
    const held = this.held
    this.held = undefined
    if (held?.held) return held
    held?.stop()
    return undefined
  }
}
