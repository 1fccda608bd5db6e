// The command line as engines and people meet it, through bin/ocirt: --version, help, global flags before the
// verb in both forms, runc's error lines (logrus text on stderr; with --log, a plain line on stderr and a
// text or JSON line in the file), unknown verbs and usage errors with runc's exit codes. Where runc is
// installed, the exit codes and line shapes are checked against it side by side.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {ocirt, type OcirtResult} from '../helpers/ocirt'
import {REPO} from '../helpers/paths'
import {missing, requires} from '../helpers/requires'
import {makeBundle} from '../helpers/bundle'
import {VERBS} from '../../src/commands/_verbs'
import {GLOBAL_FLAGS} from '../../src/commands/_verbs/global-flags'
import {SPEC_VERSION} from '../../src/core/version'

const skip = missing('ocirt')
const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'))
/** logrus's text line as runc writes it to stderr: time in RFC 3339 seconds, msg quoted as Go's %q. */
const LOGRUS = (msg: string) => new RegExp(`^time="\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(Z|[+-]\\d\\d:\\d\\d)" level=error msg=${escape(JSON.stringify(msg))}\\n$`)
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

const out = (r: OcirtResult) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`

function tmpdir(t: {after(fn: () => void): void}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-cli-'))
  t.after(() => fs.rmSync(dir, {recursive: true, force: true}))
  return dir
}

/** Private plugin dirs: a plugin the developer linked must not change what these tests see. */
const ENV = (dir: string) => ({XDG_DATA_HOME: path.join(dir, 'data'), XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_CACHE_HOME: path.join(dir, 'cache'), OCIRT_DATA_DIR: undefined})

function runc(args: string[]): {code: number | null; stdout: string; stderr: string} {
  const r = spawnSync('runc', args, {encoding: 'utf8', timeout: 30_000})
  return {code: r.status, stdout: r.stdout, stderr: r.stderr}
}

test('--version and -v print "ocirt version X" and the spec version, as runc prints its own', {skip}, async () => {
  for (const flag of ['--version', '-v']) {
    const r = await ocirt([flag])
    assert.equal(r.code, 0, out(r))
    assert.match(r.stdout, new RegExp(`^ocirt version ${escape(pkg.version)}\\nspec: ${escape(SPEC_VERSION)}\\nnode: v\\d+\\.\\d+\\.\\d+\\n$`))
  }
})

test('--help, -h, help and no verb (global flags alone too) list every verb and exit 0', {skip}, async (t) => {
  const env = ENV(tmpdir(t))
  for (const argv of [['--help'], ['-h'], [], ['help'], ['--root', '/tmp/x'], ['--debug']]) {
    const r = await ocirt(argv, {env})
    assert.equal(r.code, 0, `${argv.join(' ')}: ${out(r)}`)
    for (const verb of [...Object.keys(VERBS), 'plugins']) assert.match(r.stdout, new RegExp(`^\\s+${verb}\\s`, 'm'), `${argv.join(' ')}: lists ${verb}`)
  }
})

test('help VERB and VERB --help show every flag of the verb and the global flags, and exit 0', {skip}, async (t) => {
  const env = ENV(tmpdir(t))
  for (const verb of Object.keys(VERBS)) {
    const spec = VERBS[verb]()
    const r = await ocirt(['help', verb], {env})
    assert.equal(r.code, 0, `help ${verb}: ${out(r)}`)
    for (const [name, f] of Object.entries({...GLOBAL_FLAGS, ...spec.flags})) {
      if (f.hidden) continue
      assert.ok(r.stdout.includes(`--${name}`), `help ${verb} shows --${name}`)
      if (f.char) assert.ok(r.stdout.includes(`-${f.char}, --${name}`), `help ${verb} shows -${f.char}`)
    }
  }
  for (const argv of [['create', '--help'], ['--root', '/tmp/x', 'create', '-h'], ['--log-format=json', 'create', '--help']]) {
    const r = await ocirt(argv, {env})
    assert.equal(r.code, 0, `${argv.join(' ')}: ${out(r)}`)
    assert.match(r.stdout, /-b, --bundle=<value>/, argv.join(' '))
    assert.match(r.stdout, /--preserve-fds=<value>/, argv.join(' '))
  }
})

test('checkpoint --help: exit 0 once the verb exists; until then non-zero, which tells podman "no checkpoint support"', {skip}, async (t) => {
  // podman probes `RUNTIME checkpoint --help` and treats a zero exit as checkpoint support
  const r = await ocirt(['checkpoint', '--help'], {env: ENV(tmpdir(t))})
  if (VERBS.checkpoint) {
    assert.equal(r.code, 0, out(r))
    assert.match(r.stdout, /--image-path/)
  } else {
    t.diagnostic('ocirt has no checkpoint verb yet: `checkpoint --help` fails, as an unknown verb does')
    assert.equal(r.code, 3, out(r))
    assert.match(r.stderr, LOGRUS("No help topic for 'checkpoint'"))
  }
})

test('global flags before the verb, as --flag value and --flag=value, reach the verb', {skip}, async (t) => {
  const dir = tmpdir(t)
  const file = path.join(dir, 'not-a-dir')
  fs.writeFileSync(file, '')
  const badRoot = path.join(file, 'root') // a root under a regular file: the error names the path ocirt used
  for (const globals of [['--root', badRoot], [`--root=${badRoot}`], ['--debug', '--root', badRoot], [`--rootless=false`, `--criu=/x/criu`, '--root', badRoot]]) {
    const r = await ocirt(['list'], {globals})
    assert.equal(r.code, 1, `${globals.join(' ')}: ${out(r)}`)
    assert.ok(r.stderr.includes(badRoot) && /ENOTDIR|not a directory/.test(r.stderr), `${globals.join(' ')}: ${out(r)}`)
  }
  const goodRoot = path.join(dir, 'root')
  for (const globals of [['--root', goodRoot, '--log-format', 'json'], [`--root=${goodRoot}`, '--log-format=json']]) {
    const r = await ocirt(['list', '--format', 'json'], {globals})
    assert.equal(r.code, 0, `${globals.join(' ')}: ${out(r)}`)
    assert.deepEqual(r.json(), [])
  }
  const log = path.join(dir, 'log')
  for (const globals of [['--log', log, '--log-format', 'json'], [`--log=${log}`, '--log-format=json']]) {
    fs.rmSync(log, {force: true})
    const r = await ocirt(['state', 'nosuch'], {globals, root: goodRoot})
    assert.equal(r.code, 1, out(r))
    assert.equal(JSON.parse(fs.readFileSync(log, 'utf8')).level, 'error', `${globals.join(' ')} wrote the log file`)
  }
  const bad = await ocirt(['list'], {globals: ['--log-format=xml']})
  assert.equal(bad.code, 1, out(bad))
  assert.match(bad.stderr, LOGRUS('invalid value "xml" for flag --log-format: expected one of text, json'))
})

test('a container created with --root R is seen by --root=R (real container)', {skip}, async (t) => {
  if (!requires(t, 'root', 'probe')) return
  const b = makeBundle(t)
  const created = await ocirt(['create', '--bundle', b.dir, b.id], {root: b.root})
  assert.equal(created.code, 0, out(created))
  const listed = await ocirt(['list', '-q'], {globals: [`--root=${b.root}`]})
  assert.equal(listed.stdout, `${b.id}\n`, out(listed))
  const deleted = await ocirt(['delete', '--force', b.id], {globals: [`--root=${b.root}`]})
  assert.equal(deleted.code, 0, out(deleted))
})

test("an unknown verb fails as runc's does: \"No help topic for 'X'\", exit 3", {skip}, async (t) => {
  const dir = tmpdir(t)
  const env = ENV(dir)
  for (const argv of [['nosuch'], ['nosuch', '--help'], ['--root', dir, 'nosuch', 'x']]) {
    const r = await ocirt(argv, {env})
    assert.equal(r.code, 3, `${argv.join(' ')}: ${out(r)}`)
    assert.match(r.stderr, LOGRUS("No help topic for 'nosuch'"))
    assert.equal(r.stdout, '')
  }
  const log = path.join(dir, 'log.json')
  const r = await ocirt(['nosuch'], {env, globals: ['--log', log, '--log-format', 'json']})
  assert.equal(r.code, 3, out(r))
  assert.equal(r.stderr, "No help topic for 'nosuch'\n")
  assert.equal(JSON.parse(fs.readFileSync(log, 'utf8')).msg, "No help topic for 'nosuch'")
  if (!missing('runc')) assert.equal(runc(['nosuch']).code, r.code, 'runc exits the same')
})

test('an error without --log is one logrus line on stderr, exit 1', {skip}, async (t) => {
  const root = tmpdir(t)
  const r = await ocirt(['state', 'nosuch'], {root})
  assert.equal(r.code, 1, out(r))
  assert.match(r.stderr, LOGRUS('state nosuch: container does not exist'))
  assert.equal(r.stdout, '')
  if (!missing('runc')) {
    const rr = runc(['--root', root, 'state', 'nosuch'])
    assert.equal(rr.code, r.code, 'runc exits the same')
    assert.match(rr.stderr, LOGRUS('container does not exist'), 'and writes the same line shape')
  }
})

test('with --log F --log-format json: the plain message on stderr, {"level","msg","time"} in F, as runc', {skip}, async (t) => {
  const dir = tmpdir(t)
  const log = path.join(dir, 'ocirt.json')
  const r = await ocirt(['state', 'nosuch'], {root: dir, globals: ['--log', log, '--log-format', 'json']})
  assert.equal(r.code, 1, out(r))
  assert.equal(r.stderr, 'state nosuch: container does not exist\n')
  const lines = fs.readFileSync(log, 'utf8').split('\n')
  assert.equal(lines.length, 2, 'one line and a final newline')
  const entry = JSON.parse(lines[0])
  assert.deepEqual(Object.keys(entry), ['level', 'msg', 'time'], "runc's (logrus') key order")
  assert.equal(entry.level, 'error')
  assert.equal(entry.msg, 'state nosuch: container does not exist')
  assert.match(entry.time, RFC3339)
  if (!missing('runc')) {
    const rlog = path.join(dir, 'runc.json')
    const rr = runc(['--root', dir, '--log', rlog, '--log-format', 'json', 'state', 'nosuch'])
    assert.equal(rr.code, r.code)
    assert.equal(rr.stderr, 'container does not exist\n', 'runc: the plain message on stderr too')
    assert.deepEqual(Object.keys(JSON.parse(fs.readFileSync(rlog, 'utf8'))), Object.keys(entry))
  }
})

test('with --log F (text): the plain message on stderr, a logrus text line in F', {skip}, async (t) => {
  const dir = tmpdir(t)
  const log = path.join(dir, 'ocirt.log')
  const r = await ocirt(['state', 'nosuch'], {root: dir, globals: ['--log', log]})
  assert.equal(r.code, 1, out(r))
  assert.equal(r.stderr, 'state nosuch: container does not exist\n')
  assert.match(fs.readFileSync(log, 'utf8'), /^time="[^"]+" level=error msg="state nosuch: container does not exist"\n$/)
})

test('--systemd-cgroup: create fails with a clear message (no systemd driver), read-only verbs still work', {skip}, async (t) => {
  const root = tmpdir(t)
  const r = await ocirt(['create', '--bundle', root, 'sd1'], {root, globals: ['--systemd-cgroup']})
  assert.equal(r.code, 1, out(r))
  assert.match(r.stderr, /level=error msg=".*systemd cgroup driver is not supported.*--systemd-cgroup/)
  assert.ok(!fs.existsSync(path.join(root, 'sd1')), 'nothing left behind')
  const l = await ocirt(['list'], {root, globals: ['--systemd-cgroup']})
  assert.equal(l.code, 0, out(l))
})

test('usage errors (missing or extra id, unknown flag, bad value) exit 1 with a clear message', {skip}, async (t) => {
  const root = tmpdir(t)
  const cases: [string[], string][] = [
    [['state'], 'ocirt: "state" requires exactly 1 argument(s)'],
    [['state', 'a', 'b'], 'ocirt: "state" requires exactly 1 argument(s)'],
    [['kill'], 'ocirt: "kill" requires between 1 and 2 argument(s)'],
    [['start'], 'ocirt: "start" requires exactly 1 argument(s)'],
    [['state', '--bogus', 'x'], 'flag provided but not defined: --bogus'],
    [['create', '--preserve-fds', 'x', 'id'], 'invalid value "x" for flag --preserve-fds: not an integer'],
    [['list', '--format', 'yaml'], 'invalid value "yaml" for flag --format: expected one of table, json'],
  ]
  for (const [argv, msg] of cases) {
    const r = await ocirt(argv, {root})
    assert.equal(r.code, 1, `${argv.join(' ')}: ${out(r)}`)
    assert.match(r.stderr, LOGRUS(msg), argv.join(' '))
    if (!missing('runc')) assert.equal(runc(['--root', root, ...argv]).code, 1, `runc ${argv.join(' ')} exits 1 too`)
  }
})

test('a usage error goes to --log in --log-format json, as runc writes it there (engines read that file)', {skip}, async (t) => {
  const root = tmpdir(t)
  const log = path.join(root, 'ocirt.log')
  const r = await ocirt(['kill', '--bogus', 'x'], {root, globals: ['--log', log, '--log-format', 'json']})
  assert.equal(r.code, 1, out(r))
  const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as {level: string; msg: string})
  assert.ok(lines.some((l) => l.level === 'error' && /flag provided but not defined: --bogus/.test(l.msg)), JSON.stringify(lines))
})
