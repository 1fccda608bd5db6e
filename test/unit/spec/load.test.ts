// loadBundleSpec on temp bundles: real paths, and one clear InvalidInput per way a bundle can be broken.
import {test, after} from 'node:test'
import * as assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {InvalidInput} from '../../../src/core/errors'
import {jsonErrorText, loadBundleSpec} from '../../../src/core/spec/load'
import {defaultSpec} from '../../../src/core/spec/defaults'

const ctx = {verb: 'create', id: 'c1'}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-load-'))
after(() => fs.rmSync(tmp, {recursive: true, force: true}))

let n = 0
function bundle(config: unknown | string | undefined, opts: {rootfs?: boolean} = {}): string {
  const dir = path.join(tmp, `b${n++}`)
  fs.mkdirSync(dir)
  if (opts.rootfs !== false) fs.mkdirSync(path.join(dir, 'rootfs'))
  if (config !== undefined) fs.writeFileSync(path.join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config))
  return dir
}

function fails(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidInput, `not an InvalidInput: ${String(err)}`)
    assert.match((err as Error).message, re)
    return true
  })
}

test('a good bundle: spec, real bundle path, absolute rootfs', () => {
  const dir = bundle(defaultSpec())
  const link = path.join(tmp, 'link')
  fs.symlinkSync(dir, link)
  const cwd = process.cwd()
  process.chdir(tmp)
  try {
    const r = loadBundleSpec('link', ctx)
    assert.equal(r.bundle, fs.realpathSync(dir))
    assert.equal(r.rootfs, path.join(fs.realpathSync(dir), 'rootfs'))
    assert.deepEqual(r.spec, defaultSpec())
  } finally {
    process.chdir(cwd)
  }
})

test('an absolute root.path outside the bundle is kept', () => {
  const dir = bundle({...defaultSpec(), root: {path: fs.realpathSync(tmp)}})
  assert.equal(loadBundleSpec(dir, ctx).rootfs, fs.realpathSync(tmp))
})

test('missing bundle directory', () => {
  fails(() => loadBundleSpec(path.join(tmp, 'nope'), ctx), /^create c1: open bundle: bundle \/.*\/nope does not exist$/)
})

test('bundle that is a file', () => {
  const f = path.join(tmp, 'file')
  fs.writeFileSync(f, '')
  fails(() => loadBundleSpec(f, ctx), /^create c1: open bundle: bundle .*\/file is not a directory$/)
})

test('missing config.json', () => {
  fails(() => loadBundleSpec(bundle(undefined), ctx), /^create c1: read config\.json: .*\/config\.json not found$/)
})

test('malformed config.json names line and column', () => {
  const dir = bundle('{\n  "ociVersion": "1.0.2",\n  "root": {"path": "rootfs",}\n}')
  fails(() => loadBundleSpec(dir, ctx), /^create c1: parse config\.json: .*config\.json: invalid JSON at line 3, column 29: Expected double-quoted property name$/)
  fails(() => loadBundleSpec(bundle('{"a": '), ctx), /invalid JSON at line 1, column 7: unexpected end of input$/)
  fails(() => loadBundleSpec(bundle(''), ctx), /invalid JSON at line 1, column 1/)
})

test('config.json that is not an object', () => {
  fails(() => loadBundleSpec(bundle('[1, 2]'), ctx), /config\.json: must hold a JSON object, not an array$/)
  fails(() => loadBundleSpec(bundle('null'), ctx), /must hold a JSON object, not null$/)
})

test('root missing, path missing or empty', () => {
  const {root: _root, ...noRoot} = defaultSpec()
  fails(() => loadBundleSpec(bundle(noRoot), ctx), /^create c1: check rootfs: root: must be specified$/)
  fails(() => loadBundleSpec(bundle({...defaultSpec(), root: {readonly: true}}), ctx), /check rootfs: root\.path: must be a non-empty path$/)
  fails(() => loadBundleSpec(bundle({...defaultSpec(), root: {path: ''}}), ctx), /root\.path: must be a non-empty path$/)
})

test('rootfs missing, not a directory, or reached through a symlink', () => {
  fails(() => loadBundleSpec(bundle(defaultSpec(), {rootfs: false}), ctx), /^create c1: check rootfs: root\.path: rootfs \/.*\/rootfs does not exist$/)
  const file = bundle({...defaultSpec(), root: {path: 'config.json'}})
  fails(() => loadBundleSpec(file, ctx), /root\.path: rootfs .*config\.json is not a directory$/)
  const linked = bundle(defaultSpec(), {rootfs: false})
  fs.symlinkSync(tmp, path.join(linked, 'rootfs'))
  fails(() => loadBundleSpec(linked, ctx), /root\.path: rootfs .*\/rootfs is a symlink or lies under one \(it resolves to .*\)/)
})

test('jsonErrorText without a position keeps the V8 text', () => {
  assert.match(jsonErrorText('xyz', 'Unexpected token \'x\', "xyz" is not valid JSON'), /^invalid JSON: Unexpected token/)
  assert.equal(jsonErrorText('{\n\n  }x', 'Unexpected non-whitespace character after JSON at position 6'),
    'invalid JSON at line 3, column 4: Unexpected non-whitespace character after JSON')
})
