// The counting workload of the checkpoint tests: `probe counter /out/file 16` writes count=N lines into a
// bind-mounted host dir and checks a 16 MiB memory pattern before each, so a restore shows whether it went on
// from where the checkpoint stopped it (no restart from 0, no gap, memory intact).
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {assertOk} from './ocirt'
import {containerBundle, stateOf, waitFor, type TestBundle} from './containers'
import {PROBE} from './paths'
import type {AfterHost} from './cleanup'

export interface Counter extends TestBundle {
  /** host dir bind-mounted at /out */
  data: string
  file: string
}

/** A bundle (own rootfs copy, own cgroupsPath and --root) whose container counts into <data>/file. */
export function counterBundle(owner: AfterHost | TestBundle['cleanup'], more: {readonly?: boolean; idPrefix?: string; mib?: number; args?: string[]} = {}): Counter {
  const b = containerBundle(owner, (spec) => {
    spec.process!.args = more.args ?? [PROBE, 'counter', '/out/file', String(more.mib ?? 16)]
    spec.mounts!.push({destination: '/out', type: 'bind', source: 'data', options: ['rbind', 'rw']})
  }, {copyRootfs: true, idPrefix: more.idPrefix ?? 'cr'}) as Counter
  if (more.readonly) b.writeSpec((s) => void (s.root!.readonly = true))
  b.data = path.join(b.dir, 'data')
  b.file = path.join(b.data, 'file')
  fs.mkdirSync(b.data)
  return b
}

/** The N of every `count=N` line in file (probe counter: "count=N"; probe memtick: "count=N ms=T"). */
export function counts(file: string): number[] {
  let text = ''
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch {
    return []
  }
  return [...text.matchAll(/^count=(\d+)(?= |$)/gm)].map((m) => Number(m[1]))
}

export const last = (file: string) => counts(file).at(-1) ?? -1

export function assertHealthy(file: string): void {
  assert.ok(!fs.readFileSync(file, 'utf8').includes('pattern=broken'), `the memory pattern held (${file})`)
}

export async function runCounter(b: Counter): Promise<number> {
  assertOk(await b.ocirt(['run', '-d', '--bundle', b.dir, b.id]), 'run -d')
  await waitFor('the counter to reach 3', () => last(b.file) >= 3)
  return (await stateOf(b)).pid
}

/** The counter goes on from `after` + 1: no restart from 0, no gap, pattern intact. */
export async function assertContinues(file: string, from: number, offset: number): Promise<void> {
  await waitFor(`counting past ${from + 3} in ${file}`, () => last(file) > from + 3)
  const text = fs.readFileSync(file, 'utf8').slice(offset)
  const resumed = [...text.matchAll(/^count=(\d+)$/gm)].map((m) => Number(m[1]))
  assert.equal(resumed[0], from + 1, `first count after restore (then: ${resumed.slice(0, 5).join(' ')})`)
  for (let i = 1; i < resumed.length; i++) assert.equal(resumed[i], resumed[i - 1] + 1, 'consecutive counts')
  assertHealthy(file)
}

export function images(b: TestBundle, name = 'images'): string {
  return path.join(path.dirname(b.dir), name)
}
