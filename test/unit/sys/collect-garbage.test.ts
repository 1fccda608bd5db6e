// collectGarbage(): a full collection in a process started without --expose-gc (src/core/util/collect-garbage.ts).
import {it} from 'node:test'
import assert from 'node:assert/strict'
import {collectGarbage} from '../../../src/core/util/collect-garbage'

it('collects an object nothing holds any more, in a node started without --expose-gc', async () => {
  assert.equal(typeof (globalThis as {gc?: unknown}).gc, 'undefined', 'the test runner gives no gc()')
  const ref = (() => new WeakRef({big: new Array(1000).fill(1)}))()
  // a WeakRef's target lives at least until the end of the job that made it
  await new Promise((resolve) => setImmediate(resolve))
  collectGarbage()
  assert.equal(ref.deref(), undefined)
  collectGarbage() // a second call reuses the function it found
  assert.equal(typeof (globalThis as {gc?: unknown}).gc, 'undefined', 'and leaves the global scope as it was')
})
