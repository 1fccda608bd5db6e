// deviceCgroupRules: the config's rules keep their order; the runtime's own allows (default devices, /dev/pts,
// /dev/ptmx, the config's device nodes) go right after the config's last rule for all devices.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {deviceCgroupRules} from '../../../src/core/mounts/devices'
import {deviceRuleLine} from '../../../src/core/cgroups/resources'
import type {Spec} from '../../../src/core/spec/types'

type Rule = NonNullable<NonNullable<NonNullable<Spec['linux']>['resources']>['devices']>[number]

function lines(rules: Rule[], devices: NonNullable<Spec['linux']>['devices'] = []): string[] {
  const spec = {ociVersion: '1.0.2', root: {path: 'rootfs'}, linux: {devices, resources: {devices: rules}}} as Spec
  return deviceCgroupRules(spec).map((r) => `${r.allow ? 'allow' : 'deny'} ${deviceRuleLine(r)}`)
}

const IMPLICIT = ['c 1:3', 'c 1:5', 'c 1:7', 'c 1:8', 'c 1:9', 'c 5:0', 'c 5:2', 'c 136:*'].map((d) => `allow ${d} rwm`)

test('after a leading deny-all: deny-all, the implicit allows, then the config\'s own rules in order', () => {
  assert.deepEqual(lines([
    {allow: false, access: 'rwm'},
    {allow: true, type: 'c', major: 1, minor: 3, access: 'rwm'},
    {allow: false, type: 'c', major: 1, minor: 3, access: 'w'},
  ]), ['deny a *:* rwm', ...IMPLICIT, 'allow c 1:3 rwm', 'deny c 1:3 w'])
})

test('without an all-devices rule the implicit allows come first, so the config\'s denies win', () => {
  assert.deepEqual(lines([{allow: false, type: 'c', major: 1, minor: 9, access: 'rw'}]), [...IMPLICIT, 'deny c 1:9 rw'])
})

test('the last all-devices rule counts (type "a" or unset); the config\'s device nodes are allowed with the defaults', () => {
  assert.deepEqual(lines([
    {allow: false, access: 'rwm'},
    {allow: true, type: 'a', access: 'rwm'},
    {allow: false, type: 'b', major: 8, minor: 0, access: 'rwm'},
  ], [{path: '/dev/fuse', type: 'c', major: 10, minor: 229}]), [
    'deny a *:* rwm', 'allow a *:* rwm', ...IMPLICIT, 'allow c 10:229 rwm', 'deny b 8:0 rwm',
  ])
})
