import {test} from 'node:test'
import assert from 'node:assert/strict'
import {decideStop, linkRate, type PreCopyRound} from '../../../src/migrate/stop-rules'

const MiB = 2 ** 20
const rules = {downtimeBudgetMs: 500, maxRounds: 8, minShrink: 0.8}
/** a round of `pages` bytes sent over a 10 MiB/s link (10 MiB per 1000 ms) */
const round = (n: number, pages: number, rate = 10 * MiB): PreCopyRound => ({n, dumpMs: 100, transferMs: Math.round((pages / rate) * 1000), pageBytes: pages, bytes: pages})

test('no round yet: go on', () => {
  assert.deepEqual(decideStop([], rules), {stop: false})
})

test('a first round of the whole memory does not fit the budget: another round', () => {
  assert.deepEqual(decideStop([round(1, 64 * MiB)], rules), {stop: false})
})

test('stops when the last round fits the downtime budget at the measured link rate', () => {
  const v = decideStop([round(1, 64 * MiB), round(2, 2 * MiB)], rules)
  assert.equal(v.stop, true)
  assert.match((v as {why: string}).why, /fits the downtime budget: ~200 ms at 10\.0 MiB\/s/)
  // 6 MiB at 10 MiB/s is 600 ms: over a 500 ms budget, and it shrank enough to try again
  assert.deepEqual(decideStop([round(1, 64 * MiB), round(2, 6 * MiB)], rules), {stop: false})
  assert.equal(decideStop([round(1, 64 * MiB), round(2, 6 * MiB)], {...rules, downtimeBudgetMs: 700}).stop, true)
})

test('stops when a round no longer shrinks the dirty memory (the container dirties as fast as the link sends)', () => {
  const v = decideStop([round(1, 64 * MiB), round(2, 40 * MiB), round(3, 36 * MiB)], rules)
  assert.equal(v.stop, true)
  assert.match((v as {why: string}).why, /round 3 did not shrink the dirty memory enough \(40\.0 MiB -> 36\.0 MiB\)/)
  assert.deepEqual(decideStop([round(1, 64 * MiB), round(2, 40 * MiB), round(3, 30 * MiB)], rules), {stop: false}, '25% less is worth another round')
})

test('stops at the maximum round count even while it still shrinks', () => {
  const rounds = Array.from({length: 8}, (_, i) => round(i + 1, Math.round(256 * MiB * 0.7 ** i)))
  assert.deepEqual(decideStop(rounds.slice(0, 7), rules), {stop: false})
  assert.deepEqual(decideStop(rounds, rules), {stop: true, why: '8 rounds, the maximum'})
  assert.deepEqual(decideStop(rounds.slice(0, 1), {...rules, maxRounds: 1}), {stop: true, why: '1 round, the maximum'})
})

test('the link rate is over all rounds; an instant transfer counts as 1 ms', () => {
  assert.equal(linkRate([round(1, 10 * MiB), round(2, 1 * MiB)]), (11 * MiB) / 1100)
  assert.equal(linkRate([{n: 1, dumpMs: 1, transferMs: 0, pageBytes: 0, bytes: 4096}]), 4096)
  // an empty round (nothing dirtied) always fits
  assert.equal(decideStop([round(1, 64 * MiB), {n: 2, dumpMs: 50, transferMs: 3, pageBytes: 0, bytes: 20_000}], rules).stop, true)
})
