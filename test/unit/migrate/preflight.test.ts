import {test} from 'node:test'
import assert from 'node:assert/strict'
import {clockSkewNote, preflight} from '../../../src/migrate/preflight'
import type {HostFacts} from '../../../src/migrate/agent/facts'

function host(over: Partial<HostFacts> = {}): HostFacts {
  return {
    ocirt: '0.1.0', node: 'v20.20.2', hostname: 'h', arch: 'x64', kernel: '6.18.0', root: '/run/ocirt',
    criu: {version: '4.1.1'}, features: {lazyPages: '', dirtyTracking: 'Dirty tracking is OFF'},
    cpuFlags: ['fpu', 'sse2', 'avx2'], ...over,
  }
}

test('auto picks post-copy where both kernels have userfaultfd and no dirty tracking (this machine)', () => {
  const v = preflight(host(), host(), 'auto')
  assert.equal(v.mode, 'post-copy')
  assert.deepEqual(v.problems, [])
  assert.ok(v.notes.some((n) => /pre-copy not possible: memory dirty tracking/.test(n)), v.notes.join('\n'))
})

test('auto falls back to stop-and-copy when either side lacks userfaultfd', () => {
  const v = preflight(host(), host({features: {lazyPages: 'UFFD is not supported', dirtyTracking: 'off'}}), 'auto')
  assert.equal(v.mode, 'stop-copy')
  assert.ok(v.notes.some((n) => /post-copy not possible: .*the target lacks it \(UFFD is not supported\)/.test(n)), v.notes.join('\n'))
})

test('an explicit mode the kernels cannot do is a problem naming the side and the reason', () => {
  const v = preflight(host({features: {lazyPages: 'no uffd', dirtyTracking: ''}}), host(), 'post-copy')
  assert.equal(v.mode, undefined)
  assert.match(v.problems.join('\n'), /--mode post-copy needs userfaultfd \(lazy pages\): the source lacks it \(no uffd\)/)
})

test('pre-copy: auto picks it first where the source kernel tracks dirty memory, and it can be asked for', () => {
  const tracks = {lazyPages: '', dirtyTracking: ''}
  const v = preflight(host({features: tracks}), host({features: tracks}), 'auto')
  assert.equal(v.mode, 'pre-copy', 'the rounds move memory while it runs: the shortest freeze without post-copy risk')
  assert.deepEqual(v.problems, [])
  assert.equal(preflight(host({features: tracks}), host({features: tracks}), 'pre-copy').mode, 'pre-copy')
  // the target only restores the parent chain: its kernel needs no dirty tracking (the VM -> this machine e2e test)
  assert.equal(preflight(host({features: tracks}), host(), 'auto').mode, 'pre-copy')
})

test('pre-copy needs dirty tracking on the source: asked for, the error says so; auto goes on to post-copy', () => {
  const tracks = {lazyPages: '', dirtyTracking: ''}
  const v = preflight(host(), host({features: tracks}), 'pre-copy')
  assert.equal(v.mode, undefined)
  assert.match(v.problems.join('\n'), /--mode pre-copy needs memory dirty tracking \(soft-dirty\): the source lacks it \(Dirty tracking is OFF\)/)
  const auto = preflight(host(), host({features: tracks}), 'auto')
  assert.equal(auto.mode, 'post-copy')
  assert.ok(auto.notes.some((n) => /pre-copy not possible: .*the source lacks it/.test(n)), auto.notes.join('\n'))
})

test('missing criu, another architecture, missing CPU flags and another ocirt major are problems', () => {
  const v = preflight(host(), host({criu: {problem: 'criu binary criu: not found'}, arch: 'arm64', cpuFlags: ['fpu'], ocirt: '1.0.0'}), 'auto')
  assert.equal(v.mode, undefined)
  const all = v.problems.join('\n')
  assert.match(all, /target: criu binary criu: not found/)
  assert.match(all, /the target is arm64, the source x64/)
  assert.match(all, /CPU lacks .*sse2 avx2|CPU lacks .*avx2 sse2/)
  assert.match(all, /ocirt 1\.0\.0 on the target cannot take a migration from ocirt 0\.1\.0/)
})

test('stop-copy needs nothing but a working criu', () => {
  const none = {lazyPages: 'x', dirtyTracking: 'y'}
  assert.equal(preflight(host({features: none}), host({features: none}), 'stop-copy').mode, 'stop-copy')
})

test('clock skew: a note names how far and which way the target is off, within the round trip; small skew says nothing', () => {
  const sent = 1_000_000
  assert.equal(clockSkewNote(sent + 50 + 500, sent, sent + 100), undefined, '0.5 s is below the note threshold')
  assert.equal(clockSkewNote(undefined, sent, sent + 100), undefined, 'an older agent that sends no time')
  assert.match(clockSkewNote(sent + 50 + 7000, sent, sent + 100)!, /target's clock is 7\.0 s ahead of this host's \(give or take 50 ms\)/)
  assert.match(clockSkewNote(sent + 50 - 3600_000, sent, sent + 100)!, /3600\.0 s behind/)
  // a slow round trip widens the margin: 2.5 s off with a 2 s round trip could be 1.5 s, under the threshold
  assert.equal(clockSkewNote(sent + 1000 + 2500, sent, sent + 2000), undefined)
})
