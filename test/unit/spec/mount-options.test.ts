// MOUNT_OPTIONS and parseMountOptions: flags, clears, propagation, recursive attributes, data, idmap.
import {test} from 'node:test'
import * as assert from 'node:assert/strict'
import {InvalidInput} from '../../../src/core/errors'
import {MOUNT_ATTR, mountOptionNames, MS, parseMountOptions, propagationFlags, scanMountOptions} from '../../../src/core/mounts/options'

test('flags go to flags, the rest to data in order (runc\'s split)', () => {
  const r = parseMountOptions(['nosuid', 'strictatime', 'mode=755', 'size=65536k'])
  assert.equal(r.flags, MS.NOSUID | MS.STRICTATIME)
  assert.equal(r.data, 'mode=755,size=65536k')
  assert.equal(r.bind, false)
  assert.equal(r.propagation, 0)
  const devpts = parseMountOptions(['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'])
  assert.equal(devpts.flags, MS.NOSUID | MS.NOEXEC)
  assert.equal(devpts.data, 'newinstance,ptmxmode=0666,mode=0620,gid=5')
})

test('later options win; explicit clears are remembered for remounts', () => {
  assert.equal(parseMountOptions(['ro', 'rw']).flags, 0)
  assert.equal(parseMountOptions(['ro', 'rw']).clearFlags, MS.RDONLY)
  assert.equal(parseMountOptions(['rw', 'ro']).flags, MS.RDONLY)
  assert.equal(parseMountOptions(['rw', 'ro']).clearFlags, 0)
  assert.equal(parseMountOptions(['suid', 'dev', 'exec']).clearFlags, MS.NOSUID | MS.NODEV | MS.NOEXEC)
  assert.equal(parseMountOptions(['defaults']).flags, 0)
})

test('bind and rbind', () => {
  const b = parseMountOptions(['bind', 'ro'])
  assert.deepEqual([b.bind, b.recursive, b.flags], [true, false, MS.BIND | MS.RDONLY])
  const rb = parseMountOptions(['rbind', 'nosuid'])
  assert.deepEqual([rb.bind, rb.recursive, rb.flags], [true, true, MS.BIND | MS.REC | MS.NOSUID])
})

test('propagation options', () => {
  const r = parseMountOptions(['rbind', 'rprivate', 'rshared'])
  assert.deepEqual(r.propagations, [MS.PRIVATE | MS.REC, MS.SHARED | MS.REC])
  assert.equal(r.propagation, MS.SHARED | MS.REC)
  assert.equal(r.flags, MS.BIND | MS.REC, 'propagation stays out of the mount flags')
  assert.equal(propagationFlags('rslave'), MS.SLAVE | MS.REC)
  assert.equal(propagationFlags('unbindable'), MS.UNBINDABLE)
  assert.equal(propagationFlags('ro'), undefined)
  assert.equal(propagationFlags('bogus'), undefined)
})

test('recursive attributes (rro, rnosuid, atime modes)', () => {
  const r = parseMountOptions(['rbind', 'rro', 'rnosuid', 'rnodev', 'rnoexec'])
  assert.equal(r.recAttrSet, MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC)
  assert.equal(r.recAttrClr, 0)
  const rw = parseMountOptions(['rro', 'rrw'])
  assert.deepEqual([rw.recAttrSet, rw.recAttrClr], [0, MOUNT_ATTR.RDONLY])
  const at = parseMountOptions(['rnoatime', 'rstrictatime'])
  assert.deepEqual([at.recAttrSet, at.recAttrClr], [MOUNT_ATTR.STRICTATIME, MOUNT_ATTR.ATIME_MASK])
  const rel = parseMountOptions(['rnoatime', 'rrelatime'])
  assert.deepEqual([rel.recAttrSet, rel.recAttrClr], [MOUNT_ATTR.RELATIME, MOUNT_ATTR.ATIME_MASK])
})

test('tmpcopyup is an extension, not data', () => {
  const r = parseMountOptions(['tmpcopyup', 'mode=1777'])
  assert.equal(r.tmpcopyup, true)
  assert.equal(r.data, 'mode=1777')
})

test('idmap/ridmap: recognized, refused by parseMountOptions, listed by scanMountOptions', () => {
  assert.throws(() => parseMountOptions(['rbind', 'idmap'], 'mounts[3].options', {verb: 'create', id: 'c1'}), (err: unknown) =>
    err instanceof InvalidInput && err.message === 'create c1: mounts[3].options: option "idmap": idmapped mounts are not supported')
  assert.deepEqual(scanMountOptions(['ridmap', 'x=1']).unsupported, ['ridmap'])
  assert.equal(scanMountOptions(['ridmap', 'x=1']).data, 'x=1')
})

test('option names are matched exactly (no prototype keys, case-sensitive)', () => {
  assert.equal(parseMountOptions(['constructor', 'RO']).data, 'constructor,RO')
  assert.equal(parseMountOptions(['constructor', 'RO']).flags, 0)
})

test('mountOptionNames is sorted and leaves out unsupported options', () => {
  const names = mountOptionNames()
  assert.deepEqual(names, [...names].sort())
  assert.ok(!names.includes('idmap') && !names.includes('ridmap'))
  assert.ok(names.includes('rbind') && names.includes('tmpcopyup') && names.includes('rro'))
})
