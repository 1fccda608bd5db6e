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
import {ACTIONS, ARCHS, FLAGS, OPERATORS} from '../../src/core/seccomp/vocabulary'

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

/**
 * runc 1.1's shape: without the seccomp flag lists (features.md of spec 1.1; runc 1.2 has them too) and without
 * linux.netDevices (spec 1.2, runc 1.3).
 */
function withoutSeccompFlags(f: Record<string, any>): Record<string, any> {
  const {knownFlags: _k, supportedFlags: _s, ...seccomp} = f.linux.seccomp
  const {netDevices: _n, ...linux} = f.linux
  return {...f, linux: {...linux, seccomp}}
}

test('same keys, nesting, value types and key order as runc features (annotations and seccomp flags aside)', {skip: noRunc}, () => {
  const ours = withoutSeccompFlags(features() as unknown as Record<string, any>)
  const runc = runcFeatures()
  assert.deepEqual(Object.keys(ours), Object.keys(runc))
  assert.deepEqual(keysDeep({...ours, annotations: {}}), keysDeep({...runc, annotations: {}}))
})

test('seccomp: the compiler\'s tables, enabled, and the flags this kernel takes', () => {
  const f = features().linux.seccomp
  assert.equal(f.enabled, true)
  assert.deepEqual(f.actions, Object.keys(ACTIONS).sort())
  assert.deepEqual(f.operators, Object.keys(OPERATORS).sort())
  assert.deepEqual(f.archs, Object.keys(ARCHS).sort())
  assert.deepEqual(f.knownFlags, Object.keys(FLAGS))
  assert.ok(f.supportedFlags.every((x) => f.knownFlags.includes(x)))
  // TSYNC (3.17) and LOG (4.14) are older than any kernel ocirt runs on
  assert.ok(f.supportedFlags.includes('SECCOMP_FILTER_FLAG_TSYNC') && f.supportedFlags.includes('SECCOMP_FILTER_FLAG_LOG'), f.supportedFlags.join())
})

test('same vocabulary as runc where ocirt does the same', {skip: noRunc}, () => {
  const ours = features()
  const runc = runcFeatures()
  assert.equal(ours.ociVersionMin, runc.ociVersionMin)
  // runc 1.1 says 1.0.2-dev; ocirt honours the 1.2.0 additions (netDevices, ioPriority, scheduler, execCPUAffinity)
  assert.equal(ours.ociVersionMax, '1.2.0')
  assert.ok(ours.ociVersionMax.localeCompare(runc.ociVersionMax, undefined, {numeric: true}) > 0)
  assert.deepEqual(ours.hooks, runc.hooks)
  assert.deepEqual(ours.linux.capabilities, runc.linux.capabilities, 'numeric order, as runc')
  assert.deepEqual(withoutSeccompFlags(ours as unknown as Record<string, any>).linux.seccomp, runc.linux.seccomp)
  // runc 1.1 lacks the time namespace; everything else matches
  assert.deepEqual(ours.linux.namespaces.filter((n) => n !== 'time'), runc.linux.namespaces)
  assert.deepEqual(ours.mountOptions, runc.mountOptions)
})

test('linux.netDevices is advertised, last in linux as runc 1.3 prints it (features-linux.md)', () => {
  const f = features()
  assert.deepEqual(f.linux.netDevices, {enabled: true})
  assert.equal(Object.keys(f.linux).at(-1), 'netDevices')
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
