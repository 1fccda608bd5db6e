// What a migration tells people and machines: one line per phase as it happens (stderr; with byte counts and
// rates where bytes move), and a summary at the end (downtime, time and bytes per phase, total) printed as text
// or, with --json, as one JSON object on stdout.
import type {Mode} from './preflight'
import type {PreCopyRound} from './stop-rules'
import {debug} from '../core/log'

export interface PhaseRecord {
  name: string
  ms: number
  bytes?: number
  detail?: string
}

export interface MigrationSummary {
  id: string
  targetId: string
  source: string
  target: string
  mode?: Mode
  outcome: 'migrated' | 'dry-run' | 'rolled-back' | 'failed' | 'unknown'
  /** from the freeze on the source to the container running on the target */
  downtimeMs?: number
  /** the restored container ran on the target while its pages still came from the source (post-copy) */
  postCopyMs?: number
  totalMs: number
  bytes: {bundle: number; images: number; delta: number; pages: number}
  /** pre-copy: the rounds sent while the container ran (bytes.images is then the final dump only) */
  preCopy?: {rounds: PreCopyRound[]; stopped: string}
  phases: PhaseRecord[]
  notes: string[]
  error?: string
}

export class Reporter {
  readonly phases: PhaseRecord[] = []
  private readonly t0 = Date.now()
  private current?: {name: string; started: number; cpu: NodeJS.CpuUsage}
  private ticker?: NodeJS.Timeout
  private readonly live: boolean

  constructor(private readonly quiet: boolean, private readonly write: (s: string) => void = (s) => void process.stderr.write(s)) {
    this.live = !quiet && process.stderr.isTTY === true
  }

  /** On a terminal, shows the bytes the running phase has moved so far (and the rate), twice a second. */
  watch(bytes: () => number): void {
    if (!this.live || !this.current) return
    const c = this.current
    clearInterval(this.ticker)
    this.ticker = setInterval(() => {
      const n = bytes()
      this.write(`\r\x1b[Kmigrate: ${c.name}: ${mib(n)} (${rate(n, Date.now() - c.started)})`)
    }, 500)
    this.ticker.unref()
  }

  begin(name: string, detail?: string): void {
    this.end()
    this.current = {name, started: Date.now(), cpu: process.cpuUsage()}
    debug(`migrate: ${name} begins`)
    if (!this.quiet) this.write(`migrate: ${name}${detail ? ` (${detail})` : ''} ...\n`)
  }

  /** Closes the running phase; bytes moved in it give a rate. */
  end(bytes?: number, detail?: string): PhaseRecord | undefined {
    const c = this.current
    if (!c) return undefined
    this.current = undefined
    if (this.ticker) {
      clearInterval(this.ticker)
      this.ticker = undefined
      this.write('\r\x1b[K')
    }
    const rec: PhaseRecord = {name: c.name, ms: Date.now() - c.started, ...(bytes !== undefined ? {bytes} : {}), ...(detail ? {detail} : {})}
    // this process's CPU time in the phase: on a busy host, what ocirt itself took from CRIU and the container
    const cpu = process.cpuUsage(c.cpu)
    debug(`migrate: ${c.name} ends after ${rec.ms} ms (this process's CPU: ${Math.round((cpu.user + cpu.system) / 1000)} ms)`)
    this.phases.push(rec)
    if (!this.quiet) this.write(`migrate: ${c.name} done in ${rec.ms} ms${bytes !== undefined ? `, ${mib(bytes)} (${rate(bytes, rec.ms)})` : ''}${detail ? `, ${detail}` : ''}\n`)
    return rec
  }

  note(text: string): void {
    if (!this.quiet) this.write(`migrate: ${text}\n`)
  }

  elapsed(): number {
    return Date.now() - this.t0
  }
}

export function summaryText(s: MigrationSummary): string {
  const lines = [
    `${s.outcome === 'migrated' ? 'migrated' : s.outcome} ${s.id}${s.targetId !== s.id ? ` as ${s.targetId}` : ''}: ${s.source} -> ${s.target}${s.mode ? ` (${s.mode})` : ''}`,
  ]
  if (s.downtimeMs !== undefined) lines.push(`  downtime      ${s.downtimeMs} ms`)
  if (s.postCopyMs !== undefined) lines.push(`  post-copy     ${s.postCopyMs} ms (pages fetched while it ran on the target)`)
  lines.push(`  total         ${s.totalMs} ms`)
  const b = s.bytes
  lines.push(`  bytes         bundle ${mib(b.bundle)}, images ${mib(b.images)}, changes at freeze ${mib(b.delta)}, pages ${mib(b.pages)}`)
  if (s.preCopy) {
    const sent = s.preCopy.rounds.reduce((a, r) => a + r.bytes, 0)
    lines.push(`  pre-copy      ${s.preCopy.rounds.length} round(s), ${mib(sent)} sent while it ran; stopped: ${s.preCopy.stopped}`)
    for (const r of s.preCopy.rounds) lines.push(`    round ${r.n}: pages ${mib(r.pageBytes)}, sent ${mib(r.bytes)}, dump ${r.dumpMs} ms, transfer ${r.transferMs} ms`)
  }
  for (const p of s.phases) lines.push(`  ${p.name.padEnd(13)} ${String(p.ms).padStart(6)} ms${p.bytes !== undefined ? `  ${mib(p.bytes)}` : ''}${p.detail ? `  ${p.detail}` : ''}`)
  for (const n of s.notes) lines.push(`  note: ${n}`)
  if (s.error) lines.push(`  error: ${s.error}`)
  return `${lines.join('\n')}\n`
}

function mib(bytes: number): string {
  return bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`
}

function rate(bytes: number, ms: number): string {
  return `${((bytes / 2 ** 20) / Math.max(ms / 1000, 0.001)).toFixed(1)} MiB/s`
}
