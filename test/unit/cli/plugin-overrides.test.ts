// The fast door's check for plugin commands that take over a built-in verb reads what @oclif/plugin-plugins
// 5.x writes (<dataDir>/package.json, oclif.plugins with type user|link) and finds commands the way oclif
// does: the plugin's manifest (ids and aliases), else its commands directory.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {pluginDataDir, pluginOverride, pluginRoots} from '../../../src/commands/_verbs/plugin-overrides'

function tmpdir(t: {after(fn: () => void): void}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-plugins-'))
  t.after(() => fs.rmSync(dir, {recursive: true, force: true}))
  return dir
}

function write(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), {recursive: true})
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value))
}

test("the data dir is oclif's: $OCIRT_DATA_DIR, else $XDG_DATA_HOME/ocirt, else ~/.local/share/ocirt", () => {
  assert.equal(pluginDataDir({OCIRT_DATA_DIR: '/d', XDG_DATA_HOME: '/x', HOME: '/h'}), '/d')
  assert.equal(pluginDataDir({XDG_DATA_HOME: '/x', HOME: '/h'}), '/x/ocirt')
  assert.equal(pluginDataDir({HOME: '/h'}), '/h/.local/share/ocirt')
})

test('no data dir, or no plugins: nothing overrides', (t) => {
  const dir = tmpdir(t)
  assert.equal(pluginOverride('state', {XDG_DATA_HOME: dir}), undefined)
  write(path.join(dir, 'ocirt', 'package.json'), {name: 'ocirt', oclif: {schema: 1, plugins: []}})
  assert.equal(pluginOverride('state', {XDG_DATA_HOME: dir}), undefined)
  write(path.join(dir, 'ocirt', 'package.json'), 'not json')
  assert.equal(pluginOverride('state', {XDG_DATA_HOME: dir}), undefined)
})

test('a linked plugin (oclif.plugins, type link, root) with a manifest: by command id and by alias', (t) => {
  const dir = tmpdir(t)
  const link = path.join(dir, 'src', 'my-plugin')
  write(path.join(link, 'oclif.manifest.json'), {version: '1.0.0', commands: {state: {aliases: []}, peek: {aliases: ['kill']}}})
  write(path.join(dir, 'ocirt', 'package.json'), {name: 'ocirt', oclif: {schema: 1, plugins: [{name: 'my-plugin', type: 'link', root: link}]}})
  const env = {XDG_DATA_HOME: dir}
  assert.deepEqual(pluginRoots(env), [link])
  assert.deepEqual(pluginOverride('state', env), {root: link, id: 'state'})
  assert.deepEqual(pluginOverride('kill', env), {root: link, id: 'kill'})
  assert.equal(pluginOverride('create', env), undefined)
})

test('a user-installed plugin (type user) lives in <dataDir>/node_modules/<name>', (t) => {
  const dir = tmpdir(t)
  const data = path.join(dir, 'data')
  write(path.join(data, 'package.json'), {name: 'ocirt', dependencies: {'@acme/ocirt-x': '^1'}, oclif: {schema: 1, plugins: [{name: '@acme/ocirt-x', type: 'user', tag: 'latest'}]}})
  write(path.join(data, 'node_modules', '@acme', 'ocirt-x', 'oclif.manifest.json'), {version: '1.0.0', commands: {delete: {}}})
  const env = {OCIRT_DATA_DIR: data}
  assert.deepEqual(pluginOverride('delete', env), {root: path.join(data, 'node_modules', '@acme', 'ocirt-x'), id: 'delete'})
})

test('a linked plugin without a manifest (development): its commands directory decides', (t) => {
  const dir = tmpdir(t)
  const link = path.join(dir, 'dev-plugin')
  write(path.join(link, 'package.json'), {name: 'dev-plugin', version: '0.0.1', oclif: {commands: './lib/commands'}})
  write(path.join(link, 'lib', 'commands', 'state.js'), 'module.exports = class {static run() {}}')
  const pattern = path.join(dir, 'pattern-plugin')
  write(path.join(pattern, 'package.json'), {name: 'pattern-plugin', version: '0.0.1', oclif: {commands: {strategy: 'pattern', target: './dist/commands'}}})
  write(path.join(pattern, 'dist', 'commands', 'pause', 'index.js'), 'module.exports = class {static run() {}}')
  write(path.join(dir, 'ocirt', 'package.json'), {name: 'ocirt', oclif: {schema: 1, plugins: [
    {name: 'dev-plugin', type: 'link', root: link},
    {name: 'pattern-plugin', type: 'link', root: pattern},
  ]}})
  const env = {XDG_DATA_HOME: dir}
  assert.deepEqual(pluginOverride('state', env), {root: link, id: 'state'})
  assert.deepEqual(pluginOverride('pause', env), {root: pattern, id: 'pause'})
  assert.equal(pluginOverride('start', env), undefined)
})
