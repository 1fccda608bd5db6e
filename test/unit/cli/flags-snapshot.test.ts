// The flag snapshot (sf's command-snapshot idea): every verb's args and flags, as src/commands/_verbs declares
// them, against test/fixtures/command-flags.json. A removed, renamed or retyped flag fails; so does a runc 1.1.5
// flag missing from a verb ocirt has. runc's flags were recorded from its --help output into the fixture.
// After an intended change: OCIRT_UPDATE_FLAG_SNAPSHOT=1 node --test dist/test/unit/cli/flags-snapshot.test.js
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {REPO} from '../../helpers/paths'
import {VERBS} from '../../../src/commands/_verbs'
import {GLOBAL_FLAGS} from '../../../src/commands/_verbs/global-flags'
import type {FlagSpec, VerbSpec} from '../../../src/commands/_verbs/types'

const FIXTURE = path.join(REPO, 'test', 'fixtures', 'command-flags.json')

interface SnapFlag {
  type: FlagSpec['type']
  char?: string
  default?: string | number | boolean
  options?: string[]
  multiple?: true
  hidden?: true
}
interface SnapVerb {
  args: {name: string; required: boolean}[]
  flags: Record<string, SnapFlag>
  variadic?: true
  stopAtPositional?: true
}
interface RuncFlag {
  value: boolean
  char?: string
  default?: string
}
interface Fixture {
  runc: {version: string; usage: Record<string, string>; global: Record<string, RuncFlag>; verbs: Record<string, Record<string, RuncFlag>>}
  ocirt: {global: Record<string, SnapFlag>; verbs: Record<string, SnapVerb>}
}

/** Defaults where ocirt differs from runc on purpose. */
const DEFAULT_DIFFERS: Record<string, string> = {
  'global --root': 'ocirt computes its own: /run/ocirt, or $XDG_RUNTIME_DIR/ocirt when rootless (src/core/runtime.ts)',
}

function snapFlags(table: Record<string, FlagSpec>): Record<string, SnapFlag> {
  const out: Record<string, SnapFlag> = {}
  for (const name of Object.keys(table).sort()) {
    const f = table[name]
    out[name] = {
      type: f.type,
      ...(f.char !== undefined && {char: f.char}),
      ...(f.default !== undefined && {default: f.default}),
      ...(f.options !== undefined && {options: [...f.options]}),
      ...(f.multiple && {multiple: true as const}),
      ...(f.hidden && {hidden: true as const}),
    }
  }
  return out
}

function snapVerb(spec: VerbSpec): SnapVerb {
  return {
    args: spec.args.map((a) => ({name: a.name, required: a.required === true})),
    flags: snapFlags(spec.flags),
    ...(spec.variadic && {variadic: true as const}),
    ...(spec.stopAtPositional && {stopAtPositional: true as const}),
  }
}

function current(): Fixture['ocirt'] {
  const verbs: Record<string, SnapVerb> = {}
  for (const verb of Object.keys(VERBS).sort()) verbs[verb] = snapVerb(VERBS[verb]())
  return {global: snapFlags(GLOBAL_FLAGS), verbs}
}

const fixture: Fixture = JSON.parse(fs.readFileSync(FIXTURE, 'utf8'))

if (process.env.OCIRT_UPDATE_FLAG_SNAPSHOT) {
  fixture.ocirt = current()
  fs.writeFileSync(FIXTURE, formatFixture(fixture))
  console.log(`# wrote the ocirt flag snapshot to ${FIXTURE}: review the diff`)
}

/** JSON with 2-space indents, small objects and arrays on one line: one flag per line, short diffs. */
export function formatFixture(value: unknown): string {
  const collapse = (m: string) => {
    const one = m.replace(/\s*\n\s*/g, ' ').replace(/^([[{]) /, '$1').replace(/ ([\]}])$/, '$1')
    return one.length <= 100 ? one : m.replace(/^([[{])\n/, '$1\u0000\n') // too long: mark it as done
  }
  let text = JSON.stringify(value, null, 2)
  for (let prev = ''; prev !== text; ) {
    prev = text
    text = text.replace(/[[{]\n[^[\]{}\u0000]*?\n\s*[\]}]/g, collapse)
  }
  return text.replaceAll('\u0000', '') + '\n'
}

/** Human-readable differences between a snapshot and the current flags of one verb (or the globals). */
function flagDiffs(where: string, was: Record<string, SnapFlag>, now: Record<string, SnapFlag>): string[] {
  const out: string[] = []
  for (const name of Object.keys(was)) {
    if (!(name in now)) out.push(`${where} --${name}: removed or renamed`)
    else if (JSON.stringify(was[name]) !== JSON.stringify(now[name])) out.push(`${where} --${name}: was ${JSON.stringify(was[name])}, now ${JSON.stringify(now[name])}`)
  }
  for (const name of Object.keys(now)) if (!(name in was)) out.push(`${where} --${name}: added (not in the snapshot)`)
  return out
}

const HOW = '\nIf the change is intended: OCIRT_UPDATE_FLAG_SNAPSHOT=1 node --test dist/test/unit/cli/flags-snapshot.test.js, then review the diff.'

test('every verb has the args and flags of the snapshot (test/fixtures/command-flags.json)', () => {
  const now = current()
  const was = fixture.ocirt.verbs
  const diffs: string[] = []
  for (const verb of Object.keys(was)) if (!(verb in now.verbs)) diffs.push(`${verb}: verb removed`)
  for (const [verb, spec] of Object.entries(now.verbs)) {
    const old = was[verb]
    if (!old) {
      diffs.push(`${verb}: new verb (not in the snapshot)`)
      continue
    }
    diffs.push(...flagDiffs(verb, old.flags, spec.flags))
    if (JSON.stringify(old.args) !== JSON.stringify(spec.args)) diffs.push(`${verb}: args were ${JSON.stringify(old.args)}, now ${JSON.stringify(spec.args)}`)
    for (const k of ['variadic', 'stopAtPositional'] as const) {
      if (old[k] !== spec[k]) diffs.push(`${verb}: ${k} was ${old[k] ?? false}, now ${spec[k] ?? false}`)
    }
  }
  assert.deepEqual(diffs, [], diffs.join('\n') + HOW)
})

test('the global flags match the snapshot', () => {
  const diffs = flagDiffs('global', fixture.ocirt.global, current().global)
  assert.deepEqual(diffs, [], diffs.join('\n') + HOW)
})

/** runc flag vs ocirt flag: present, same short name, a value where runc takes one, runc's default. */
function runcDiffs(where: string, runc: Record<string, RuncFlag>, ocirt: Record<string, FlagSpec>): string[] {
  const out: string[] = []
  for (const [name, r] of Object.entries(runc)) {
    const o = ocirt[name]
    if (!o) {
      out.push(`${where} --${name}: runc has it, ocirt does not`)
      continue
    }
    if (o.char !== r.char) out.push(`${where} --${name}: short name is ${o.char ? '-' + o.char : 'none'}, runc's is ${r.char ? '-' + r.char : 'none'}`)
    if ((o.type !== 'boolean') !== r.value) out.push(`${where} --${name}: ${r.value ? 'runc takes a value, ocirt declares a boolean' : 'runc declares a boolean, ocirt takes a value'}`)
    if (r.default !== undefined && String(o.default) !== r.default && !DEFAULT_DIFFERS[`${where} --${name}`]) {
      out.push(`${where} --${name}: default is ${JSON.stringify(o.default)}, runc's is ${JSON.stringify(r.default)}`)
    }
  }
  return out
}

test(`every ${fixture.runc.version} flag of the verbs ocirt has is there, with runc's short name and value`, () => {
  const diffs: string[] = []
  for (const verb of Object.keys(VERBS)) {
    const runc = fixture.runc.verbs[verb]
    if (runc) diffs.push(...runcDiffs(verb, runc, VERBS[verb]().flags))
  }
  assert.deepEqual(diffs, [], diffs.join('\n'))
})

test(`every ${fixture.runc.version} global flag is there`, () => {
  const diffs = runcDiffs('global', fixture.runc.global, GLOBAL_FLAGS)
  assert.deepEqual(diffs, [], diffs.join('\n'))
})

test("a verb takes runc's container id: required where runc's usage has <container-id>, first", () => {
  for (const verb of Object.keys(VERBS)) {
    const usage = fixture.runc.usage[verb]
    if (usage === undefined) continue
    const args = VERBS[verb]().args
    const wantsId = usage.split('||')[0].includes('<container-id>')
    assert.equal(args[0]?.required === true, wantsId, `${verb}: runc usage is "${usage}", ocirt args are ${JSON.stringify(args)}`)
    if (wantsId) assert.equal(args.filter((a) => a.required).length, 1, `${verb}: only the id is required in runc ("${usage}")`)
  }
})

test('runc verbs that ocirt does not have yet are listed (diagnostic, not a failure)', (t) => {
  const missing = Object.keys(fixture.runc.verbs).filter((v) => !VERBS[v])
  t.diagnostic(`runc verbs missing in ocirt: ${missing.join(', ') || 'none'}`)
  assert.ok(Object.keys(VERBS).every((v) => v in fixture.runc.verbs), 'every ocirt hot verb is a runc verb')
})
