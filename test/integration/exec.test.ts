// exec on real containers: the new process shares the container's namespaces, cgroup and mounts; the flags
// shape it as runc's do (env, cwd, user, caps, no_new_privs, --process, --cgroup); statuses (created, paused,
// stopped); foreground exit status and signals, a terminal relayed or sent to a console socket, detach with a
// pid file; runc's exit 255 when exec itself fails; no fd leaks; delete -f takes exec'd processes down too.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {assertOk, ocirt, spawnOcirt} from '../helpers/ocirt'
import {requires} from '../helpers/requires'
import {alive, containerBundle, createWithOutput, expectFail, nsOf, stateOf, waitFor, waitStatus, type TestBundle, exitOf} from '../helpers/containers'
import type {SpecOverride} from '../helpers/bundle'
import {OCIRT_BIN, PROBE} from '../helpers/paths'
import {consoleReceiver} from '../helpers/console-receiver'

const CAP_SYS_ADMIN = 1n << 21n

/** A running container whose init sleeps; returns the bundle and the init's host pid. */
async function running(t: {after(fn: () => unknown): void}, override?: SpecOverride): Promise<{b: TestBundle; init: number}> {
  const b = containerBundle(t, {process: {args: [PROBE, 'sleep', '600']}})
  if (override) b.writeSpec(override)
  assertOk(await b.ocirt(['run', '-d', '--bundle', b.dir, b.id]), 'run -d')
  return {b, init: (await stateOf(b)).pid}
}

/** `probe caps` output → the five masks. */
function caps(line: string): Record<string, bigint> {
  return Object.fromEntries(line.trim().split(' ').map((kv) => kv.split('=')).map(([k, v]) => [k, BigInt(`0x${v}`)]))
}

async function readPidFile(file: string): Promise<number> {
  return Number(await waitFor(`pid file ${file}`, () => fs.existsSync(file) && fs.readFileSync(file, 'utf8').trim()))
}

test('exec runs a command in a running container: its output, and its exit status passed through', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const {b} = await running(t)
  const r = assertOk(await b.ocirt(['exec', b.id, PROBE, 'echo', 'hello', '--not-a-flag', '-d']), 'exec echo')
  assert.equal(r.stdout, 'hello --not-a-flag -d\n', 'flags after the command belong to the command')
  assert.equal(assertOk(await b.ocirt(['exec', b.id, PROBE, 'cat'], {input: 'from stdin\n'}), 'exec cat').stdout, 'from stdin\n', 'stdin inherited')
  const three = await b.ocirt(['exec', b.id, PROBE, 'exit', '3'])
  assert.equal(three.code, 3, `exit 3 passes through (stderr: ${three.stderr})`)
  const killed = await b.ocirt(['exec', b.id, 'sh', '-c', 'kill -9 $$'])
  assert.equal(killed.code, 128 + 9, `a process killed by SIGKILL exits 137 (stderr: ${killed.stderr})`)
})

test('-h and --help after the command belong to the command', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const {b} = await running(t)
  const r = assertOk(await b.ocirt(['exec', b.id, PROBE, 'echo', '-h', '--help']), 'exec echo -h --help')
  assert.equal(r.stdout, '-h --help\n')
})

test('the exec\'d process is in the container\'s pid, mount, network, ipc and uts namespaces, sees its mounts', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const {b, init} = await running(t)
  const pid = assertOk(await b.ocirt(['exec', b.id, PROBE, 'pid']), 'exec pid').stdout
  const m = /^pid=(\d+) ppid=0$/.exec(pid.trim())
  assert.ok(m && Number(m[1]) > 1 && Number(m[1]) < 100, `a small pid in the container's pid namespace: ${pid}`)
  const ps = assertOk(await b.ocirt(['exec', b.id, 'ps']), 'exec ps').stdout
  assert.match(ps, /^\s*1\s+\S+\s+\/bin\/probe sleep 600$/m, `ps in the container lists its init as pid 1:\n${ps}`)

  const ns = Object.fromEntries(assertOk(await b.ocirt(['exec', b.id, PROBE, 'ns']), 'exec ns').stdout.trim().split(' ').map((kv) => kv.split('=')))
  for (const name of ['pid', 'mnt', 'net', 'ipc', 'uts', 'cgroup', 'user']) assert.equal(ns[name], nsOf(init, name), `${name} namespace is the init's`)
  assert.equal(assertOk(await b.ocirt(['exec', b.id, PROBE, 'hostname']), 'hostname').stdout, 'probe\n', "the container's hostname")
  const mounts = assertOk(await b.ocirt(['exec', b.id, PROBE, 'mounts']), 'exec mounts').stdout
  assert.equal(mounts, fs.readFileSync(`/proc/${init}/mountinfo`, 'utf8'), "the init's mount table, seen from the same root")
})

test('exec -d returns once the process runs, writes the pid file, and the process is in the container\'s cgroup', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const {b, init} = await running(t)
  const pidFile = path.join(b.dir, 'pids', 'exec.pid')
  fs.mkdirSync(path.dirname(pidFile))
  assertOk(await b.ocirt(['exec', '-d', '--pid-file', pidFile, b.id, PROBE, 'sleep', '60']), 'exec -d')
  const pid = await readPidFile(pidFile)
  b.cleanup.pid(pid)
  assert.ok(alive(pid), `exec'd pid ${pid} is alive`)
  assert.deepEqual(fs.readdirSync(path.dirname(pidFile)), ['exec.pid'], 'the pid file was renamed into place (no temp file left)')
  assert.equal(nsOf(pid, 'pid'), nsOf(init, 'pid'), "the pid file's process is inside the container")
  assert.equal(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'), fs.readFileSync(`/proc/${init}/cgroup`, 'utf8'), "/proc/<pid>/cgroup equals the init's")
  const inside = assertOk(await b.ocirt(['exec', b.id, 'ps']), 'ps').stdout
  assert.match(inside, /probe sleep 60$/m, 'ps inside the container shows the detached process')

  // and the foreground exec writes the pid file too, as runc's does
  const fg = path.join(b.dir, 'fg.pid')
  assertOk(await b.ocirt(['exec', '--pid-file', fg, b.id, PROBE, 'true']), 'exec --pid-file')
  assert.match(fs.readFileSync(fg, 'utf8'), /^\d+$/)
})

test('-e appends or overrides the environment, --cwd sets the directory, -u/-g the identity', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const {b} = await running(t)
  const env = assertOk(await b.ocirt(['exec', '-e', 'FOO=bar', '--env', 'TERM=dumb', b.id, PROBE, 'env']), 'env').stdout.split('\n')
  assert.ok(env.includes('FOO=bar'), `FOO added: ${env}`)
  assert.deepEqual(env.filter((e) => e.startsWith('TERM=')), ['TERM=dumb'], 'TERM overridden, once')
  assert.equal(env.indexOf('TERM=dumb'), 1, 'an overridden variable keeps its place (after PATH)')
  assert.ok(env.includes('HOME=/root'), "HOME from the container's /etc/passwd")
  assert.equal(assertOk(await b.ocirt(['exec', '--cwd', '/tmp', b.id, PROBE, 'cwd']), 'cwd').stdout, '/tmp\n')
  assert.equal(assertOk(await b.ocirt(['exec', b.id, PROBE, 'cwd']), 'cwd').stdout, '/\n', "the container's cwd by default")
  assert.equal(assertOk(await b.ocirt(['exec', '-u', '1000:1000', b.id, PROBE, 'id']), 'id').stdout, 'uid=1000 gid=1000 groups=\n')
  assert.equal(assertOk(await b.ocirt(['exec', '-u', '1000', '-g', '10', '-g', '20', b.id, PROBE, 'id']), 'id').stdout, 'uid=1000 gid=0 groups=10,20\n')
  const home = assertOk(await b.ocirt(['exec', '-u', '1000', b.id, PROBE, 'env']), 'env').stdout
  assert.match(home, /^HOME=\/home\/user$/m, "HOME of uid 1000 from the container's /etc/passwd")
  expectFail(await b.ocirt(['exec', '--cwd', 'relative', b.id, PROBE, 'cwd']), 'process.cwd: must be an absolute path', 255)
  expectFail(await b.ocirt(['exec', '--cwd', '/nonexistent', b.id, PROBE, 'cwd']), /chdir .*\/nonexistent: no such file or directory/, 255)
  expectFail(await b.ocirt(['exec', '-u', 'abc', b.id, PROBE, 'id']), 'parsing abc as int for uid failed', 255)
})

test('--cap adds a capability; --no-new-privs sets no_new_privs', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const {b} = await running(t, (spec) => void (spec.process!.noNewPrivileges = false))
  const before = caps(assertOk(await b.ocirt(['exec', b.id, PROBE, 'caps']), 'caps').stdout)
  assert.equal(before.eff & CAP_SYS_ADMIN, 0n, 'no CAP_SYS_ADMIN by default')
  const after = caps(assertOk(await b.ocirt(['exec', '--cap', 'CAP_SYS_ADMIN', b.id, PROBE, 'caps']), 'caps').stdout)
  for (const set of ['bnd', 'eff', 'prm']) assert.equal(after[set], before[set] | CAP_SYS_ADMIN, `${set} gains CAP_SYS_ADMIN`)
  assert.equal(after.inh, 0n, 'never inheritable (runc since CVE-2022-29162)')
  const bogus = await b.ocirt(['exec', '-c', 'CAP_BOGUS', b.id, PROBE, 'caps'])
  assert.equal(bogus.code, 0, bogus.stderr)
  assert.match(bogus.stderr, /ignoring unknown or unavailable capabilities: \[CAP_BOGUS\]/, "runc's warning")

  assert.equal(assertOk(await b.ocirt(['exec', b.id, PROBE, 'nnp']), 'nnp').stdout, '0\n', "the container's process has none")
  assert.equal(assertOk(await b.ocirt(['exec', '--no-new-privs', b.id, PROBE, 'nnp']), 'nnp').stdout, '1\n')
})

test('--process runs a process.json (flags that shape the process are ignored, as by runc); a bad one names the field', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const {b} = await running(t)
  const file = (name: string, p: unknown) => {
    const f = path.join(b.dir, name)
    fs.writeFileSync(f, JSON.stringify(p))
    return f
  }
  const good = file('p.json', {args: [PROBE, 'id'], cwd: '/', user: {uid: 5, gid: 6, additionalGids: [7]}, env: ['A=1']})
  assert.equal(assertOk(await b.ocirt(['exec', '-p', good, '-u', '9', b.id]), 'exec -p').stdout, 'uid=5 gid=6 groups=7\n')
  const envFile = file('env.json', {args: [PROBE, 'env'], cwd: '/tmp', env: ['A=1', 'A=2']})
  assert.equal(assertOk(await b.ocirt(['exec', '--process', envFile, '-e', 'B=2', b.id]), 'exec -p').stdout, 'A=2\nHOME=/root\n')
  const capsFile = file('caps.json', {args: [PROBE, 'caps'], cwd: '/'})
  const c = caps(assertOk(await b.ocirt(['exec', '-p', capsFile, b.id]), 'caps').stdout)
  assert.equal(c.eff, caps(assertOk(await b.ocirt(['exec', b.id, PROBE, 'caps']), 'caps').stdout).eff, "without capabilities: the container's")
  const rl = file('rl.json', {args: [PROBE, 'rlimit', 'NOFILE'], cwd: '/'})
  assert.equal(assertOk(await b.ocirt(['exec', '-p', rl, b.id]), 'rlimit').stdout, '1024 1024\n', "without rlimits: the container's")

  expectFail(await b.ocirt(['exec', '-p', file('noargs.json', {cwd: '/'}), b.id]), 'process.args: must not be empty', 255)
  expectFail(await b.ocirt(['exec', '-p', file('strargs.json', {args: 'x', cwd: '/'}), b.id]), 'process.args: must be an array of strings', 255)
  expectFail(await b.ocirt(['exec', '-p', file('nocwd.json', {args: [PROBE, 'true']}), b.id]), 'process.cwd: must be set', 255)
  expectFail(await b.ocirt(['exec', '-p', file('uid.json', {args: [PROBE, 'true'], cwd: '/', user: {uid: -1, gid: 0}}), b.id]), 'process.user.uid', 255)
  expectFail(await b.ocirt(['exec', '-p', file('cap.json', {args: [PROBE, 'true'], cwd: '/', capabilities: {bounding: ['CAP_NOPE']}}), b.id]),
    'process.capabilities.bounding[0]: unknown capability "CAP_NOPE"', 255)
  const notJson = path.join(b.dir, 'bad.json')
  fs.writeFileSync(notJson, '{bad')
  expectFail(await b.ocirt(['exec', '-p', notJson, b.id]), `read process ${notJson}`, 255)
  expectFail(await b.ocirt(['exec', '-p', path.join(b.dir, 'missing.json'), b.id]), 'no such file or directory', 255)
  expectFail(await b.ocirt(['exec', b.id]), 'process args cannot be empty', 255)
})

test('exec works in a created container and leaves it created', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'echo', 'started']}})
  assertOk(await createWithOutput(b), 'create')
  const {pid: init} = await stateOf(b)
  assert.equal(assertOk(await b.ocirt(['exec', b.id, PROBE, 'hostname']), 'exec').stdout, 'probe\n')
  const ns = assertOk(await b.ocirt(['exec', b.id, PROBE, 'ns']), 'exec ns').stdout
  assert.ok(ns.includes(`pid=${nsOf(init, 'pid')}`), `in the init's pid namespace: ${ns}`)
  assert.equal((await stateOf(b)).status, 'created')
})

test('a paused container refuses exec unless --ignore-paused; a stopped one always', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const {b} = await running(t)
  assertOk(await b.ocirt(['pause', b.id]), 'pause')
  expectFail(await b.ocirt(['exec', b.id, PROBE, 'true']), 'cannot exec in a paused container (use --ignore-paused to override)', 255)
  // the process joins the frozen cgroup, so it runs once the container is resumed (runc's behaviour too)
  let done = false
  const pending = b.ocirt(['exec', '--ignore-paused', b.id, PROBE, 'echo', 'thawed']).finally(() => (done = true))
  await new Promise((r) => setTimeout(r, 500))
  assert.equal(done, false, 'the exec waits while the container is frozen')
  assertOk(await b.ocirt(['resume', b.id]), 'resume')
  const r = assertOk(await pending, 'exec --ignore-paused')
  assert.equal(r.stdout, 'thawed\n')

  const s = containerBundle(t, {process: {args: [PROBE, 'true']}})
  assertOk(await s.ocirt(['run', '-d', '--bundle', s.dir, s.id]), 'run -d')
  await waitStatus(s, 'stopped')
  expectFail(await s.ocirt(['exec', s.id, PROBE, 'true']), 'cannot exec in a stopped container', 255)
  expectFail(await s.ocirt(['exec', 'no-such-container', PROBE, 'true']), 'container does not exist', 255)
})

test('a missing executable exits 255 with the errno words engines map to 127', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const {b} = await running(t)
  expectFail(await b.ocirt(['exec', b.id, 'nosuch']), 'exec: "nosuch": executable file not found in $PATH', 255)
  expectFail(await b.ocirt(['exec', b.id, '/nosuch']), 'stat /nosuch: no such file or directory', 255)
  const log = path.join(b.dir, 'log.json')
  const r = await b.ocirt(['exec', '-d', b.id, 'nosuch'], {globals: ['--log', log, '--log-format', 'json']})
  assert.equal(r.code, 255)
  const last = JSON.parse(fs.readFileSync(log, 'utf8').trim().split('\n').pop()!)
  assert.equal(last.level, 'error')
  assert.match(last.msg, /not found/, 'the --log JSON line keeps "not found" (the shim reads it)')
})

test('signals reach the foreground process; SIGWINCH is not forwarded without a terminal', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const {b} = await running(t)
  const child = spawnOcirt(['exec', b.id, PROBE, 'signals'], {root: b.root})
  b.cleanup.pid(child)
  let out = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  await waitFor('ready', () => out.includes('ready\n'))
  child.kill('SIGUSR1')
  await waitFor('USR1 forwarded', () => out.includes('USR1\n'))
  child.kill('SIGWINCH')
  child.kill('SIGHUP')
  await waitFor('HUP forwarded', () => out.includes('HUP\n'))
  child.kill('SIGTERM')
  assert.deepEqual(await exitOf(child), {code: 0, signal: null}, 'probe signals exits 0 on TERM; ocirt returns that')
  assert.equal(out, 'ready\nUSR1\nHUP\nTERM\n')
})

test('-t in the foreground relays the pty; -d -t sends the master to --console-socket', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const {b} = await running(t)
  const fg = assertOk(await b.ocirt(['exec', '-t', b.id, PROBE, 'isatty']), 'exec -t')
  assert.equal(fg.stdout, 'stdin=1 stdout=1 stderr=1\r\n', 'the process ran on a terminal, its output relayed')

  const rx = await consoleReceiver(b.cleanup, path.join(b.dir, 'console.sock'))
  const pidFile = path.join(b.dir, 'tty.pid')
  assertOk(await b.ocirt(['exec', '-d', '-t', '--console-socket', rx.path, '--pid-file', pidFile, b.id, PROBE, 'isatty']), 'exec -d -t')
  assert.equal(await rx.exited, 0, rx.text())
  assert.match(rx.text(), /^name=\/dev\/pts\/\d+ fds=1$/m, rx.text())
  assert.match(rx.text(), /^stdin=1 stdout=1 stderr=1\r\neof$/m, rx.text())

  expectFail(await b.ocirt(['exec', '-d', '-t', b.id, PROBE, 'true']), 'cannot allocate tty if ocirt will detach without setting console socket', 255)
  expectFail(await b.ocirt(['exec', '--console-socket', rx.path, b.id, PROBE, 'true']), 'cannot use console socket if ocirt will not detach or allocate tty', 255)
})

test('no fd of ocirt leaks into the process; --preserve-fds N passes 3..3+N-1', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const {b} = await running(t)
  const extra = [0, 1, 2].map(() => fs.openSync('/dev/null', 'r'))
  t.after(() => extra.forEach((fd) => fs.closeSync(fd)))
  const fds = async (args: string[]) => {
    const child = spawn(OCIRT_BIN, ['--root', b.root, 'exec', ...args, b.id, PROBE, 'fds'], {stdio: ['ignore', 'pipe', 'pipe', ...extra]})
    b.cleanup.pid(child)
    let out = ''
    let err = ''
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    const exit = await exitOf(child)
    assert.equal(exit.code, 0, err)
    return out
  }
  assert.equal(await fds([]), '0 1 2\n', 'ocirt had fds 3, 4 and 5 open')
  assert.equal(await fds(['--preserve-fds', '2']), '0 1 2 3 4\n')
  expectFail(await b.ocirt(['exec', '--preserve-fds', '40', b.id, PROBE, 'fds']), /unable to stat preserved-fd \d+ \(of 40\)/, 255)
})

test('--cgroup runs the process in a sub-cgroup of the container\'s, as runc 1.1 does', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'cgroup-v1')) return
  const {b} = await running(t)
  fs.mkdirSync(path.join('/sys/fs/cgroup/memory', b.cgroupsPath, 'sub'))
  const lines = assertOk(await b.ocirt(['exec', '--cgroup', 'memory:/sub', b.id, PROBE, 'read', '/proc/self/cgroup']), 'exec --cgroup').stdout
  assert.match(lines, new RegExp(`^\\d+:memory:${b.cgroupsPath}/sub$`, 'm'), lines)
  assert.match(lines, new RegExp(`^\\d+:pids:${b.cgroupsPath}$`, 'm'), 'the other controllers stay in the container\'s cgroup')
  expectFail(await b.ocirt(['exec', '--cgroup', 'bogus:/sub', b.id, PROBE, 'true']), 'unknown controller bogus', 255)
  expectFail(await b.ocirt(['exec', '--cgroup', 'memory:../escape', b.id, PROBE, 'true']), '../escape is not a sub cgroup path', 255)
  expectFail(await b.ocirt(['exec', '--cgroup', 'a:b:c', b.id, PROBE, 'true']), 'invalid --cgroup argument: a:b:c', 255)
  expectFail(await b.ocirt(['exec', '--cgroup', 'memory:/missing', b.id, PROBE, 'true']), /missing\/cgroup\.procs: no such file or directory/, 255)
})

test('delete -f of the container kills an exec\'d process too', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const {b, init} = await running(t)
  const pidFile = path.join(b.dir, 'exec.pid')
  assertOk(await b.ocirt(['exec', '-d', '--pid-file', pidFile, b.id, PROBE, 'sleep', '600']), 'exec -d')
  const pid = await readPidFile(pidFile)
  b.cleanup.pid(pid)
  assert.ok(alive(pid))
  assertOk(await b.ocirt(['delete', '-f', b.id]), 'delete -f')
  await waitFor(`exec'd pid ${pid} to die`, () => !alive(pid))
  assert.ok(!alive(init), 'and the init')
})

test('exec answers as runc exec does on the same bundle (output and exit status)', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'runc')) return
  const {b} = await running(t)
  const r = containerBundle(t, {process: {args: [PROBE, 'sleep', '600']}})
  const runc = (args: string[]) => spawnSync('runc', ['--root', r.root, ...args], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000})
  b.cleanup.add(`runc delete ${r.id}`, () => runc(['delete', '--force', r.id]))
  const started = spawnSync('runc', ['--root', r.root, 'run', '-d', '--bundle', r.dir, r.id], {stdio: 'ignore', timeout: 30_000})
  assert.equal(started.status, 0, 'runc run -d')
  // [flags, command]
  const cases: [string[], string[]][] = [
    [[], [PROBE, 'exit', '3']], [[], ['nosuch']], [[], ['/nosuch']], [['-u', '1000:1000', '-g', '5'], [PROBE, 'id']],
    [['-e', 'TERM=dumb', '-e', 'X=1'], [PROBE, 'env']], [['--cwd', '/tmp'], [PROBE, 'cwd']], [['-c', 'CAP_SYS_ADMIN'], [PROBE, 'caps']],
    [['--no-new-privs'], [PROBE, 'nnp']], [[], [PROBE, 'rlimit', 'NOFILE']], [[], ['sh', '-c', 'kill -9 $$']],
    [['--cwd', 'relative'], [PROBE, 'cwd']], [['--preserve-fds', '40'], [PROBE, 'true']], [['-d', '-t'], [PROBE, 'true']],
  ]
  for (const [flags, cmd] of cases) {
    const c = [...flags, ...cmd]
    const mine = await ocirt(['exec', ...flags, b.id, ...cmd], {root: b.root})
    const theirs = runc(['exec', ...flags, r.id, ...cmd])
    assert.equal(mine.code, theirs.status, `exit status of exec ${c.join(' ')} (ocirt: ${mine.stderr}; runc: ${theirs.stderr})`)
    assert.equal(mine.stdout, theirs.stdout, `stdout of exec ${c.join(' ')}`)
  }
})
