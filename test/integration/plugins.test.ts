// oclif plugins for real, offline: `ocirt plugins link examples/ocirt-plugin-hello` with private XDG data, config
// and cache dirs (the developer's own plugins are never touched), then the plugin's `hello` command runs, calls
// ocirt's core barrel, is listed and shown in help; a plugin command named like a hot verb (`state`) takes
// over that verb; unlink/uninstall remove both. Linking and a file: install run in a network namespace with no
// network (unshare --net) when this machine allows it, which proves they need none.
import {after, before, test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {ocirt, type OcirtOptions, type OcirtResult} from '../helpers/ocirt'
import {OCIRT_BIN, REPO} from '../helpers/paths'
import {missing} from '../helpers/requires'

const EXAMPLE = path.join(REPO, 'examples', 'ocirt-plugin-hello')
const skip = missing('ocirt')
const OFFLINE = !skip && spawnSync('unshare', ['--net', 'true'], {stdio: 'ignore'}).status === 0

let tmp = ''
let env: Record<string, string | undefined> = {}
let realDataDir = ''
let realDataBefore = ''

/** The state of the developer's own plugin dir, to prove the tests leave it alone. */
function snapshotDir(dir: string): string {
  try {
    const st = fs.statSync(path.join(dir, 'package.json'))
    return `${st.mtimeMs}:${st.size}`
  } catch {
    return 'absent'
  }
}

before(() => {
  if (skip) return
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-plugins-'))
  fs.writeFileSync(path.join(tmp, 'npmrc'), '')
  env = {
    XDG_DATA_HOME: path.join(tmp, 'data'),
    XDG_CONFIG_HOME: path.join(tmp, 'config'),
    XDG_CACHE_HOME: path.join(tmp, 'cache'),
    OCIRT_DATA_DIR: undefined,
    // `plugins install` runs npm: keep its cache and user config private too
    npm_config_cache: path.join(tmp, 'npm-cache'),
    npm_config_userconfig: path.join(tmp, 'npmrc'),
  }
  realDataDir = path.join(process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share'), 'ocirt')
  realDataBefore = snapshotDir(realDataDir)
})

after(() => {
  if (tmp) fs.rmSync(tmp, {recursive: true, force: true})
})

function run(args: string[], opts: OcirtOptions = {}): Promise<OcirtResult> {
  return ocirt(args, {timeoutMs: 60_000, ...opts, env: {...env, ...opts.env}})
}

/** Runs `ocirt ARGS` with no network at all, where unshare allows it. */
function runOffline(args: string[]): Promise<OcirtResult> {
  return OFFLINE ? run(['--net', '--', OCIRT_BIN, ...args], {bin: 'unshare'}) : run(args)
}

function userPlugins(): {name: string; type: string; root?: string}[] {
  return JSON.parse(fs.readFileSync(path.join(tmp, 'data', 'ocirt', 'package.json'), 'utf8')).oclif.plugins
}

const out = (r: OcirtResult) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`

test('plugins link works offline and records a link in the private data dir', {skip}, async (t) => {
  if (!OFFLINE) t.diagnostic('unshare --net is not available: linking ran with the network up')
  const r = await runOffline(['plugins', 'link', EXAMPLE])
  assert.equal(r.code, 0, out(r))
  assert.deepEqual(userPlugins(), [{name: 'ocirt-plugin-hello', root: EXAMPLE, type: 'link'}])
  // with no lockfile in the plugin, link installs nothing and says so (a package-lock.json would make it run npm install)
  assert.match(r.stderr, /No lockfile found/)
})

test('the plugin command runs and reaches the core barrel; global flags before it get through', {skip}, async () => {
  const plain = await run(['hello'])
  assert.equal(plain.code, 0, out(plain))
  assert.match(plain.stdout, /^hello world from ocirt \d+\.\d+\.\d+ \(ocirt core \d+\.\d+\.\d+\)\n\d+ container\(s\) under \//)
  const root = path.join(tmp, 'state-root')
  for (const globals of [['--root', root], [`--root=${root}`]]) {
    const r = await run(['hello', 'plugin-test', '--json'], {globals})
    assert.equal(r.code, 0, out(r))
    const j = r.json()
    assert.match(j.greeting, /^hello plugin-test from ocirt /)
    assert.equal(j.root, root)
    assert.deepEqual(j.containers, [])
  }
  const bad = await run(['hello', '--bogus'])
  assert.equal(bad.code, 1, out(bad))
  assert.match(bad.stderr, /flag provided but not defined: --bogus/)
})

test('the plugin is loaded from its manifest, not scanned', {skip}, async () => {
  const r = await run(['hello'], {env: {DEBUG: 'oclif:config:*'}})
  assert.equal(r.code, 0, out(r))
  assert.match(r.stderr, /oclif:config:ocirt-plugin-hello using manifest from .*oclif\.manifest\.json/)
})

test('plugins lists it and --help shows its command', {skip}, async () => {
  const list = await run(['plugins'])
  assert.equal(list.code, 0, out(list))
  assert.match(list.stdout, new RegExp(`ocirt-plugin-hello 0\\.1\\.0 \\(link\\) ${EXAMPLE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))
  const help = await run(['--help'])
  assert.equal(help.code, 0, out(help))
  assert.match(help.stdout, /^\s+hello\s+say hello and list the containers/m)
  const verbHelp = await run(['hello', '--help'])
  assert.equal(verbHelp.code, 0, out(verbHelp))
  assert.match(verbHelp.stdout, /--root=<value>|--root <value>/)
})

test('a plugin command named like a hot verb (state) takes over that verb, and only that one', {skip}, async () => {
  // a development plugin without a manifest: the fast door finds the command in its commands directory
  const plugin = path.join(tmp, 'ocirt-plugin-state')
  fs.mkdirSync(path.join(plugin, 'commands'), {recursive: true})
  fs.writeFileSync(path.join(plugin, 'package.json'), JSON.stringify({name: 'ocirt-plugin-state', version: '1.0.0', oclif: {commands: './commands'}}))
  fs.writeFileSync(path.join(plugin, 'commands', 'state.js'), [
    'module.exports = class State {',
    "  static summary = 'state, from a plugin'",
    "  static args = {id: {name: 'id', required: true}}",
    '  static flags = {}',
    '  static strict = false',
    "  static async run(argv) { process.stdout.write('plugin state ' + JSON.stringify(argv) + '\\n') }",
    '}',
  ].join('\n'))
  const root = path.join(tmp, 'state-root')
  const builtin = await run(['state', 'ctr1'], {root})
  assert.equal(builtin.code, 1, out(builtin))
  assert.match(builtin.stderr, /container does not exist/)

  const link = await runOffline(['plugins', 'link', '--no-install', plugin])
  assert.equal(link.code, 0, out(link))
  const taken = await run(['state', 'ctr1'], {root})
  assert.equal(taken.code, 0, out(taken))
  assert.equal(taken.stdout, `plugin state ${JSON.stringify(['ctr1', '--root', root])}\n`)
  const other = await run(['list', '-q'], {root})
  assert.equal(other.code, 0, `other verbs stay built in: ${out(other)}`)

  const unlink = await run(['plugins', 'unlink', 'ocirt-plugin-state'])
  assert.equal(unlink.code, 0, out(unlink))
  const back = await run(['state', 'ctr1'], {root})
  assert.equal(back.code, 1, out(back))
  assert.match(back.stderr, /container does not exist/)
})

test('plugins unlink removes it: no longer listed, `hello` is an unknown verb again', {skip}, async () => {
  const r = await run(['plugins', 'unlink', 'ocirt-plugin-hello'])
  assert.equal(r.code, 0, out(r))
  assert.deepEqual(userPlugins(), [])
  const list = await run(['plugins'])
  assert.match(list.stdout, /No plugins installed/)
  const hello = await run(['hello'])
  assert.equal(hello.code, 3, out(hello))
  assert.match(hello.stderr, /No help topic for 'hello'/)
})

test('plugins install file:DIR works offline too (npm links a dependency-free local package)', {skip}, async () => {
  const r = await runOffline(['plugins', 'install', `file:${EXAMPLE}`])
  assert.equal(r.code, 0, out(r))
  assert.deepEqual(userPlugins().map((p) => [p.name, p.type]), [['ocirt-plugin-hello', 'user']])
  const hello = await run(['hello'])
  assert.equal(hello.code, 0, out(hello))
  const un = await run(['plugins', 'uninstall', 'ocirt-plugin-hello'])
  assert.equal(un.code, 0, out(un))
  assert.deepEqual(userPlugins(), [])
})

test("the developer's own plugin dir was not touched", {skip}, () => {
  assert.equal(snapshotDir(realDataDir), realDataBefore)
})
