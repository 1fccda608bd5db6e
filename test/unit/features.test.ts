// `features` is built from the tables and has runc 1.1's shape, key order and vocabulary.
import {test} from 'node:test'
import * as assert from 'node:assert/strict'
import * as fs from 'node:fs'
import {execFileSync} from 'node:child_process'
import {features} from '../../src/core/features'
import {CAPS} from '../../src/core/process/capabilities'
import {NAMESPACES} from '../../src/core/namespaces'
import {MOUNT_OPTIONS} from '../../src/core/mounts/options'
import {HOOK_NAMES} from '../../src/core/spec/types'

const RUNC = '/usr/sbin/runc'
const noRunc = fs.existsSync(RUNC) ? false : `${RUNC} is not installed`
const runcFeatures = (): Record<string, any> => JSON.parse(execFileSync(RUNC, ['features'], {encoding: 'utf8'}))

const keysDeep = (v: unknown): unknown =>
  v && typeof v === 'object' && !Array.isArray(v) ? Object.entries(v).map(([k, x]) => [k, keysDeep(x)]) : typeof v

test('every table entry appears: capabilities, namespaces, mount options, hooks', () => {
  const f = features()
  assert.deepEqual([...f.linux.capabilities].sort(), Object.keys(CAPS).sort())
  assert.deepEqual([...f.linux.namespaces].sort(), Object.keys(NAMESPACES).sort())
  const supported = Object.keys(MOUNT_OPTIONS).filter((n) => MOUNT_OPTIONS[n].kind !== 'unsupported')
  assert.deepEqual([...f.mountOptions].sort(), supported.sort())
  assert.deepEqual(f.hooks, [...HOOK_NAMES])
})

test('same keys, nesting, value types and key order as runc features (annotations aside)', {skip: noRunc}, () => {
  const ours = features() as unknown as Record<string, unknown>
  const runc = runcFeatures()
  assert.deepEqual(Object.keys(ours), Object.keys(runc))
  assert.deepEqual(keysDeep({...ours, annotations: {}}), keysDeep({...runc, annotations: {}}))
})

test('same vocabulary as runc where ocirt does the same', {skip: noRunc}, () => {
  const ours = features()
  const runc = runcFeatures()
  assert.equal(ours.ociVersionMin, runc.ociVersionMin)
  assert.equal(ours.ociVersionMax, runc.ociVersionMax)
  assert.deepEqual(ours.hooks, runc.hooks)
  assert.deepEqual(ours.linux.capabilities, runc.linux.capabilities, 'numeric order, as runc')
  // same vocabulary, but not enabled until ocirt compiles filters (a config asking for one is refused)
  assert.deepEqual({...ours.linux.seccomp, enabled: true}, runc.linux.seccomp)
  assert.equal(ours.linux.seccomp.enabled, false)
  // runc 1.1 lacks the time namespace; everything else matches
  assert.deepEqual(ours.linux.namespaces.filter((n) => n !== 'time'), runc.linux.namespaces)
  assert.deepEqual(ours.mountOptions, runc.mountOptions)
})

test('annotations carry the version and accept additions', () => {
  const f = features({annotations: {'x.y': 'z'}})
  assert.equal(typeof f.annotations['ocirt.version'], 'string')
  assert.equal(f.annotations['x.y'], 'z')
})

test('fresh arrays each call (callers may sort or edit them)', () => {
  features().mountOptions.push('x')
  features().linux.capabilities.length = 0
  assert.ok(!features().mountOptions.includes('x'))
  assert.equal(features().linux.capabilities.length, 41)
})
