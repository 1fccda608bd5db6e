// The two doors (ARCHITECTURE.md §3) cannot disagree: for every verb the oclif command class
// (src/commands/<verb>.ts) exposes exactly the VerbSpec's flags plus the global flags, with the same short
// names, types, defaults and options, and both parsers read the same argv to the same values. And the fast
// door never loads @oclif/core for a hot verb: proved by running dist/ocirt.js under a --require hook that
// records require.cache at exit (the human door, --help, is the control that shows the hook sees oclif).
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {Parser, type Interfaces} from '@oclif/core'
import {REPO} from '../../helpers/paths'
import {VERBS} from '../../../src/commands/_verbs'
import {GLOBAL_FLAGS} from '../../../src/commands/_verbs/global-flags'
import {parseArgv} from '../../../src/commands/_verbs/argv'
import type {FlagSpec, VerbSpec} from '../../../src/commands/_verbs/types'

type OclifFlag = Interfaces.Flag<unknown> & {options?: string[]; multiple?: boolean; default?: unknown; allowNo?: boolean}
interface OclifClass {
  flags: Record<string, OclifFlag>
  baseFlags: Record<string, OclifFlag>
  args: Record<string, {required?: boolean}>
  strict: boolean
}

const COMMANDS_DIR = path.join(REPO, 'dist', 'src', 'commands')

function commandClass(verb: string): OclifClass {
  return require(path.join(COMMANDS_DIR, `${verb}.js`)).default as OclifClass
}

/** oclif's parse of a value is the honest test of its type: an integer flag rejects "x" and yields a number. */
async function oclifType(flag: OclifFlag): Promise<FlagSpec['type']> {
  if (flag.type === 'boolean') return 'boolean'
  const parse = flag.parse as (input: string, ctx: unknown, opts: unknown) => Promise<unknown>
  return typeof (await parse('12', {}, flag)) === 'number' ? 'integer' : 'string'
}

async function compareFlags(where: string, table: Record<string, FlagSpec>, oclif: Record<string, OclifFlag>): Promise<string[]> {
  const out: string[] = []
  const a = Object.keys(table).sort()
  const b = Object.keys(oclif).sort()
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${where}: VerbSpec flags ${a.join(',')} but oclif flags ${b.join(',')}`)
  for (const name of a.filter((n) => oclif[n])) {
    const f = table[name]
    const o = oclif[name]
    const type = await oclifType(o)
    if (type !== f.type) out.push(`${where} --${name}: type ${f.type} vs oclif ${type}`)
    if (o.char !== f.char) out.push(`${where} --${name}: char ${f.char} vs oclif ${o.char}`)
    if (o.default !== f.default) out.push(`${where} --${name}: default ${f.default} vs oclif ${o.default}`)
    if (JSON.stringify(o.options) !== JSON.stringify(f.options)) out.push(`${where} --${name}: options ${f.options} vs oclif ${o.options}`)
    if (Boolean(o.multiple) !== Boolean(f.multiple)) out.push(`${where} --${name}: multiple ${f.multiple} vs oclif ${o.multiple}`)
    if (Boolean(o.hidden) !== Boolean(f.hidden)) out.push(`${where} --${name}: hidden ${f.hidden} vs oclif ${o.hidden}`)
    if (Boolean(o.required) !== Boolean(f.required)) out.push(`${where} --${name}: required ${f.required} vs oclif ${o.required}`)
    if ((o as {min?: number}).min !== f.min) out.push(`${where} --${name}: min ${f.min} vs oclif ${(o as {min?: number}).min}`)
    if (o.type === 'boolean' && o.allowNo) out.push(`${where} --${name}: oclif accepts --no-${name}, runc does not`)
  }
  return out
}

test('every verb has its oclif command, and every oclif command file is a verb', () => {
  const files = fs.readdirSync(COMMANDS_DIR).filter((f) => f.endsWith('.js') && !f.startsWith('_')).map((f) => f.slice(0, -3))
  // both sides of a migration are served by the fast door of the migration bundle (the tests below)
  const migrationBundle = ['migrate', 'migrate-agent']
  assert.deepEqual(files.filter((f) => !migrationBundle.includes(f)).sort(), Object.keys(VERBS).sort())
})

test('the oclif class of each verb has exactly the VerbSpec flags plus the global flags, alike in every way', async () => {
  const diffs: string[] = []
  for (const verb of Object.keys(VERBS)) {
    const spec = VERBS[verb]()
    const cls = commandClass(verb)
    diffs.push(...(await compareFlags(verb, spec.flags, cls.flags)))
    diffs.push(...(await compareFlags(`${verb} (global)`, GLOBAL_FLAGS, cls.baseFlags)))
    const args = Object.entries(cls.args).map(([name, a]) => ({name, required: a.required === true}))
    assert.deepEqual(args, spec.args.map((a) => ({name: a.name, required: a.required === true})), `${verb}: args`)
    assert.equal(cls.strict, !spec.variadic, `${verb}: oclif strict vs VerbSpec variadic`)
  }
  assert.deepEqual(diffs, [], diffs.join('\n'))
})

/** An argv that sets every flag of a table, in long (`--f v`), `--f=v` and short (`-f v`) forms. */
function sampleArgv(table: Record<string, FlagSpec>): string[] {
  const argv: string[] = []
  Object.entries(table).forEach(([name, f], i) => {
    const flag = f.char && i % 2 === 0 ? `-${f.char}` : `--${name}`
    if (f.type === 'boolean') return void argv.push(flag)
    const value = f.options ? f.options[f.options.length - 1] : f.type === 'integer' ? String(7 + i) : `v-${name}`
    const times = f.multiple ? 2 : 1
    for (let n = 0; n < times; n++) argv.push(...(i % 3 === 1 && flag.startsWith('--') ? [`${flag}=${value}`] : [flag, value]))
  })
  return argv
}

/** Verb flags named like a global flag, as in runc (`runc --rootless true spec --rootless`). The fast door keeps
 * them apart (globals before the verb); oclif has one namespace, so there the verb's flag wins. That only
 * matters at the human door, where `spec` goes for --help alone. */
const SHADOWED: Record<string, string[]> = {spec: ['rootless']}

test('verb flags that shadow a global flag are only the known ones (runc has the same pairs)', () => {
  for (const verb of Object.keys(VERBS)) {
    const names = Object.keys(VERBS[verb]().flags).filter((n) => n in GLOBAL_FLAGS)
    assert.deepEqual(names, SHADOWED[verb] ?? [], `${verb}: flags named like global flags`)
  }
})

/** `oclifOnly`: what oclif must also be given (a verb's required flags, when the fast door parses the globals alone) */
async function bothDoors(spec: Pick<VerbSpec, 'flags' | 'stopAtPositional'>, cls: OclifClass, argv: string[], onlyGlobals = false, oclifOnly: string[] = []) {
  const table = onlyGlobals ? GLOBAL_FLAGS : spec.flags
  const fast = parseArgv(argv, table, {stopAtPositional: spec.stopAtPositional})
  const oclif = await Parser.parse([...argv, ...oclifOnly], {flags: {...cls.baseFlags, ...cls.flags}, args: cls.args, strict: cls.strict} as never).catch((err: Error) => {
    throw new Error(`oclif cannot parse "${argv.join(' ')}" (the fast door can): ${err.message}`)
  })
  const names = Object.keys(table).filter((k) => !(onlyGlobals && k in spec.flags))
  const pick = (flags: Record<string, unknown>) => Object.fromEntries(names.filter((k) => flags[k] !== undefined).map((k) => [k, flags[k]]))
  return {fast: pick(fast.flags), oclif: pick(oclif.flags as Record<string, unknown>)}
}

test('both parsers read the same argv to the same flag values, defaults included', async () => {
  for (const verb of Object.keys(VERBS)) {
    const spec = VERBS[verb]()
    const cls = commandClass(verb)
    // the required flags (migrate's --to) in every argv, as both parsers refuse an argv without them
    const required = Object.entries(spec.flags).filter(([, f]) => f.required).flatMap(([name]) => [`--${name}`, `r-${name}`])
    const ids = spec.args.filter((a) => a.required).map((_, i) => `ctr${i}`)
    for (const argv of [[...sampleArgv(spec.flags), ...ids], [...ids, ...required]]) {
      const {fast, oclif} = await bothDoors(spec, cls, argv)
      assert.deepEqual(oclif, fast, `${verb} ${argv.join(' ')}`)
    }
    const globals = Object.fromEntries(Object.entries(GLOBAL_FLAGS).filter(([n]) => !(SHADOWED[verb] ?? []).includes(n)))
    for (const argv of [sampleArgv(globals), []]) {
      const {fast, oclif} = await bothDoors(spec, cls, [...argv, ...ids], true, required)
      assert.deepEqual(oclif, fast, `${verb} (globals) ${argv.join(' ')}`)
    }
  }
})

/** Runs dist/ocirt.js under a hook that writes the loaded module paths at exit. */
function loadedModules(args: string[], tmp: string): {paths: string[]; status: number | null; stderr: string} {
  const hook = path.join(tmp, 'record-modules.js')
  const out = path.join(tmp, `loaded-${Math.random().toString(36).slice(2)}.json`)
  fs.writeFileSync(hook, "process.on('exit', () => require('node:fs').writeFileSync(process.env.OCIRT_LOADED_OUT, JSON.stringify(Object.keys(require.cache))))\n")
  // a private plugin dir: a plugin the developer linked must not send a hot verb through oclif here
  const env: NodeJS.ProcessEnv = {...process.env, OCIRT_LOADED_OUT: out, XDG_DATA_HOME: path.join(tmp, 'data')}
  delete env.OCIRT_DATA_DIR
  const r = spawnSync(process.execPath, ['--require', hook, path.join(REPO, 'dist', 'ocirt.js'), ...args], {cwd: tmp, encoding: 'utf8', timeout: 30_000, env})
  return {paths: JSON.parse(fs.readFileSync(out, 'utf8')), status: r.status, stderr: r.stderr}
}

test('the fast door loads no @oclif module for any hot verb; the human door does (control)', (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-doors-'))
  t.after(() => fs.rmSync(tmp, {recursive: true, force: true}))
  const root = path.join(tmp, 'root')
  const argvOf: Record<string, string[]> = {
    create: ['--bundle', path.join(tmp, 'no-bundle'), 'nosuch'],
    run: ['--bundle', path.join(tmp, 'no-bundle'), 'nosuch'],
    list: [],
    spec: ['--bundle', tmp],
    features: [],
  }
  const oclif = (paths: string[]) => paths.filter((p) => p.includes(`${path.sep}@oclif${path.sep}`))
  for (const verb of Object.keys(VERBS)) {
    const r = loadedModules(['--root', root, verb, ...(argvOf[verb] ?? ['nosuch'])], tmp)
    assert.deepEqual(oclif(r.paths), [], `${verb} loaded oclif (exit ${r.status}, stderr ${r.stderr})`)
    assert.doesNotMatch(r.stderr, /Error:|›/, `${verb}: an oclif-style error means the human door answered`)
  }
  const help = loadedModules(['--help'], tmp)
  assert.ok(oclif(help.paths).length > 0, '--help goes through oclif, so the hook must see @oclif/core there')
})

test('migrate-agent (started on the target several times per migration) is served without oclif from its own bundle; --help still goes through oclif', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-doors-'))
  t.after(() => fs.rmSync(tmp, {recursive: true, force: true}))
  const {verb} = require(path.join(REPO, 'dist', 'src', 'migrate', 'agent', 'verb.js')) as {verb: VerbSpec}
  const cls = commandClass('migrate-agent') as OclifClass & {hidden?: boolean}
  assert.deepEqual(await compareFlags('migrate-agent', verb.flags, cls.flags), [])
  assert.equal(cls.hidden, true, 'not listed in help')
  assert.ok(fs.existsSync(path.join(REPO, 'dist', 'ocirt-migrate.js')), 'the bundle of its own')
  const oclif = (paths: string[]) => paths.filter((p) => p.includes(`${path.sep}@oclif${path.sep}`))
  // an unpacker fed an empty stream: it answers from the fast door (what it answers is the integration tests' business)
  const r = loadedModules(['--root', path.join(tmp, 'root'), 'migrate-agent', '--unpack', path.join(tmp, 'into')], tmp)
  assert.deepEqual(oclif(r.paths), [], `migrate-agent loaded oclif (exit ${r.status}, stderr ${r.stderr})`)
  assert.doesNotMatch(r.stderr, /Error:|›/, 'an oclif-style error means the human door answered')
  const help = loadedModules(['migrate-agent', '--help'], tmp)
  assert.ok(oclif(help.paths).length > 0, 'help for it goes through oclif')
})

test('migrate is served without oclif when no plugin is installed; with one (its hooks run only through oclif), or flags oclif alone reads, oclif serves it', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-doors-'))
  t.after(() => fs.rmSync(tmp, {recursive: true, force: true}))
  // one table for both doors, as for the engines' verbs
  const {verb} = require(path.join(REPO, 'dist', 'src', 'migrate', 'verb.js')) as {verb: VerbSpec}
  const cls = commandClass('migrate')
  assert.deepEqual([...await compareFlags('migrate', verb.flags, cls.flags), ...await compareFlags('migrate (global)', GLOBAL_FLAGS, cls.baseFlags)], [])
  for (const argv of [[...sampleArgv(verb.flags), 'ctr0'], ['ctr0', '--to', 'h']]) {
    const {fast, oclif} = await bothDoors(verb, cls, argv)
    assert.deepEqual(oclif, fast, `migrate ${argv.join(' ')}`)
  }
  const oclif = (paths: string[]) => paths.filter((p) => p.includes(`${path.sep}@oclif${path.sep}`))
  const root = path.join(tmp, 'root')
  const fast = loadedModules(['--root', root, 'migrate', 'nosuch', '--to', 'root@127.0.0.1:1'], tmp)
  assert.deepEqual(oclif(fast.paths), [], `migrate loaded oclif (exit ${fast.status}, stderr ${fast.stderr})`)
  assert.match(fast.stderr, /nosuch: container does not exist/)
  assert.equal(fast.status, 1)
  // a global flag after the id: the fast parser refuses it, oclif reads it, and the answer is the same
  const after = loadedModules(['migrate', 'nosuch', '--to', 'root@127.0.0.1:1', '--root', root], tmp)
  assert.ok(oclif(after.paths).length > 0, 'oclif serves what the fast parser refuses')
  assert.match(after.stderr, /nosuch: container does not exist/)
  assert.equal(after.status, 1)
  // the usage error is oclif's, as before
  const noTo = loadedModules(['--root', root, 'migrate', 'nosuch'], tmp)
  assert.match(noTo.stderr, /Missing required flag to/)
  assert.equal(noTo.status, 2)
  // what runc's habits would take and oclif refuses (a value that is a flag, a flag twice, Go's single dash, a
  // value on a boolean) is oclif's to refuse: a migration must not start because a --dry-run was eaten as a value
  for (const argv of [['--remote-root', '--dry-run'], ['--to', 'other'], ['-json'], ['--dry-run=false']]) {
    const r = loadedModules(['--root', root, 'migrate', 'nosuch', '--to', 'root@127.0.0.1:1', ...argv], tmp)
    assert.ok(oclif(r.paths).length > 0, `oclif decides on ${argv.join(' ')}`)
    assert.equal(r.status, 2, `refused as a usage error: ${argv.join(' ')} (stderr ${r.stderr})`)
    assert.doesNotMatch(r.stderr, /container does not exist/)
  }
  // a linked plugin (the example one, whose hook answers --to pool:NAME): oclif serves migrate and runs its hook
  const dataDir = path.join(tmp, 'data', 'ocirt')
  fs.mkdirSync(dataDir, {recursive: true})
  const plugin = path.join(REPO, 'examples', 'ocirt-plugin-target')
  fs.writeFileSync(path.join(dataDir, 'package.json'), JSON.stringify({private: true, oclif: {plugins: [{type: 'link', name: 'ocirt-plugin-target', root: plugin}]}}))
  const hooked = loadedModules(['--root', root, 'migrate', 'nosuch', '--to', 'root@127.0.0.1:1'], tmp)
  assert.ok(oclif(hooked.paths).length > 0, `with a plugin installed, oclif serves migrate (stderr ${hooked.stderr})`)
  assert.ok(hooked.paths.some((p) => p.startsWith(plugin + path.sep)), "the plugin's hook was loaded")
  assert.match(hooked.stderr, /nosuch: container does not exist/)
})

test("no core plugin, nor ocirt itself, has a hook the fast door would skip for migrate (it checks installed plugins only)", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'))
  const skipped = ['migrate:target', 'init', 'prerun', 'postrun']
  const hooksOf = (p: {oclif?: {hooks?: Record<string, unknown>}}) => Object.keys(p.oclif?.hooks ?? {}).filter((h) => skipped.includes(h))
  assert.deepEqual(hooksOf(pkg), [], "ocirt's own package.json")
  for (const name of pkg.oclif.plugins as string[]) {
    const plugin = JSON.parse(fs.readFileSync(path.join(REPO, 'node_modules', name, 'package.json'), 'utf8'))
    assert.deepEqual(hooksOf(plugin), [], `core plugin ${name}`)
  }
})
