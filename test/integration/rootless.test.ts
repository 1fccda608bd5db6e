// Rootless, as a user of runc runs it: a throwaway unprivileged user (with its own /etc/subuid and /etc/subgid
// ranges) makes a bundle with `ocirt spec --rootless` in a directory of its own, then runs create, start,
// state, ps, kill, delete and a foreground run, with the state root in its own $XDG_RUNTIME_DIR and no cgroup.
// The user, its subordinate id entries, its processes and its files are removed in t.after, also on failure.
// Runs as root (to make the user); `ocirt` itself always runs as the user, through setpriv.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {execFileSync, spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {cleanupFor, type Cleanup} from '../helpers/cleanup'
import {ocirt, type OcirtResult} from '../helpers/ocirt'
import {OCIRT_BIN, PROBE, PROBE_ROOTFS} from '../helpers/paths'
import {requires} from '../helpers/requires'
import {nsOf, sleep, waitFor} from '../helpers/containers'

const SUB_COUNT = 65536

function missingTool(...tools: string[]): string | undefined {
  for (const tool of tools) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`], {stdio: 'ignore'}).status !== 0) {
      return `needs ${tool}${tool.startsWith('new') ? ' (apt-get install uidmap)' : ''}`
    }
  }
  return undefined
}

/** Skips t unless everything a rootless test needs is here; newuidmap/newgidmap only when `uidmap` is set. */
function rootlessReady(t: {skip(m?: string): void}, uidmap = false): boolean {
  if (!requires(t, 'root', 'probe', 'ocirt', 'userns')) return false
  const why = missingTool('useradd', 'userdel', 'setpriv', ...(uidmap ? ['newuidmap', 'newgidmap'] : []))
  if (why) {
    t.skip(why)
    return false
  }
  return true
}

interface User {
  name: string
  uid: number
  gid: number
  /** the first of its SUB_COUNT subordinate uids and gids */
  sub: number
  /** a 0711 directory the user owns: bundle/ (rootfs/, shared/), xdg/ (its XDG_RUNTIME_DIR, 0700) */
  home: string
  bundle: string
  xdg: string
  /** `ocirt ...args` run as the user, in its bundle directory, with XDG_RUNTIME_DIR set */
  ocirt(args: string[], opts?: {timeoutMs?: number}): Promise<OcirtResult>
  /** the bundle's config.json, as written by `ocirt spec --rootless` and changed since */
  spec: any
  writeSpec(): void
}

/** /etc/subuid or /etc/subgid lines as [name, start, count]. */
function subEntries(file: string): [string, number, number][] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':')).map(([n, s, c]) => [n, Number(s), Number(c)] as [string, number, number])
  } catch {
    return []
  }
}

function dropSubEntries(file: string, name: string): void {
  if (!fs.existsSync(file)) return
  const lines = fs.readFileSync(file, 'utf8').split('\n')
  const kept = lines.filter((l) => !l.startsWith(`${name}:`))
  if (kept.length !== lines.length) fs.writeFileSync(file, kept.join('\n'))
}

/** Pids of processes whose real uid is one of `uids` (the throwaway user's, found by number, killed by pid). */
function pidsOf(uids: (uid: number) => boolean): number[] {
  const out: number[] = []
  for (const name of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue
    try {
      const m = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${name}/status`, 'utf8'))
      if (m && uids(Number(m[1]))) out.push(Number(name))
    } catch {
      // gone
    }
  }
  return out
}

/**
 * A fresh user with subordinate ids, a home with the bundle (rootfs copied from the probe rootfs, owned by the
 * user) and `ocirt spec --rootless` run by the user. Everything is undone by `c`.
 */
function makeUser(c: Cleanup): User {
  const name = `ocirt-rl-${process.pid.toString(36)}${Math.random().toString(36).slice(2, 6)}`
  execFileSync('useradd', ['--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', name], {stdio: 'pipe'})
  const uid = Number(execFileSync('id', ['-u', name], {encoding: 'utf8'}).trim())
  const gid = Number(execFileSync('id', ['-g', name], {encoding: 'utf8'}).trim())
  let sub = -1
  c.add(`remove user ${name}`, async () => {
    for (let i = 0; i < 50; i++) {
      const left = pidsOf((u) => u === uid || (sub >= 0 && u >= sub && u < sub + SUB_COUNT))
      if (left.length === 0) break
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
      await sleep(100)
    }
    spawnSync('userdel', [name], {stdio: 'ignore'})
    dropSubEntries('/etc/subuid', name)
    dropSubEntries('/etc/subgid', name)
  })

  // useradd gives a new user subordinate ids on its own (SUB_UID_COUNT in login.defs); make sure it has them
  sub = subEntries('/etc/subuid').find(([n, , count]) => n === name && count >= SUB_COUNT)?.[1] ?? -1
  const subg = subEntries('/etc/subgid').find(([n, , count]) => n === name && count >= SUB_COUNT)?.[1]
  if (sub < 0 || subg !== sub) {
    dropSubEntries('/etc/subuid', name)
    dropSubEntries('/etc/subgid', name)
    const ends = [...subEntries('/etc/subuid'), ...subEntries('/etc/subgid')].map(([, s, n]) => s + n)
    sub = Math.max(100000, ...ends)
    fs.appendFileSync('/etc/subuid', `${name}:${sub}:${SUB_COUNT}\n`)
    fs.appendFileSync('/etc/subgid', `${name}:${sub}:${SUB_COUNT}\n`)
  }

  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-rootless-'))
  c.dir(home)
  const bundle = path.join(home, 'bundle')
  const xdg = path.join(home, 'xdg')
  fs.mkdirSync(bundle)
  fs.mkdirSync(xdg, {mode: 0o700})
  fs.mkdirSync(path.join(bundle, 'shared'))
  execFileSync('cp', ['-a', PROBE_ROOTFS, path.join(bundle, 'rootfs')])
  execFileSync('chown', ['-R', `${uid}:${gid}`, home])
  // others may pass through (not list): with subordinate ids, container root is not the user, yet must reach
  // the rootfs and bind sources below; the state root (xdg/) stays 0700
  fs.chmodSync(home, 0o711)

  const env = [
    `PATH=${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`,
    `HOME=${home}`, `USER=${name}`, `XDG_RUNTIME_DIR=${xdg}`,
  ]
  const asUser = ['--reuid', String(uid), '--regid', String(gid), '--init-groups', '/usr/bin/env', '-i', ...env]
  const user: User = {
    name, uid, gid, sub, home, bundle, xdg,
    ocirt: (args, opts = {}) => ocirt([...asUser, OCIRT_BIN, ...args], {bin: 'setpriv', cwd: bundle, timeoutMs: opts.timeoutMs}),
    spec: undefined,
    writeSpec() {
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(user.spec, null, 2))
    },
  }
  return user
}

/** `ocirt spec --rootless` as the user, then the changes a test needs: no terminal, `args`, /shared bound. */
async function rootlessBundle(u: User, args: string[]): Promise<void> {
  ok(await u.ocirt(['spec', '--rootless']), 'spec --rootless')
  const file = path.join(u.bundle, 'config.json')
  assert.equal(fs.statSync(file).uid, u.uid, 'config.json written by the user')
  u.spec = JSON.parse(fs.readFileSync(file, 'utf8'))
  assert.deepEqual(u.spec.linux.uidMappings, [{containerID: 0, hostID: u.uid, size: 1}], 'spec --rootless maps the user')
  assert.deepEqual(u.spec.linux.gidMappings, [{containerID: 0, hostID: u.gid, size: 1}])
  u.spec.process.terminal = false
  u.spec.process.args = args
  u.spec.mounts.push({destination: '/shared', type: 'bind', source: path.join(u.bundle, 'shared'), options: ['rbind', 'rw']})
  u.writeSpec()
}

function ok(r: OcirtResult, what: string): OcirtResult {
  if (r.code !== 0) throw new Error(`${what}: \`${r.argv.slice(-4).join(' ')}\` exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
  return r
}

function procStatusIds(pid: number): {uid: number; gid: number} {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  return {uid: Number(/^Uid:\s+(\d+)/m.exec(text)![1]), gid: Number(/^Gid:\s+(\d+)/m.exec(text)![1])}
}

const mapLines = (text: string) => text.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number))

test('rootless create, start, state, ps, kill --all and delete as an unprivileged user, state in its XDG_RUNTIME_DIR', async (t) => {
  if (!rootlessReady(t)) return
  const c = cleanupFor(t)
  const u = makeUser(c)
  const id = `rl-${process.pid}`
  const runRootBefore = fs.existsSync('/run/ocirt')
  await rootlessBundle(u, [PROBE, 'fork-sleep', '3'])
  const root = path.join(u.xdg, 'ocirt')
  c.container(id, root)

  ok(await u.ocirt(['create', id]), 'create')
  // --root defaults to $XDG_RUNTIME_DIR/ocirt, the user's own, 0700
  for (const dir of [root, path.join(root, id)]) {
    const st = fs.statSync(dir)
    assert.equal(st.uid, u.uid, `${dir} belongs to the user`)
    assert.equal(st.mode & 0o7777, 0o700, `${dir} is 0700`)
  }
  assert.ok(fs.existsSync(path.join(root, id, 'state.json')))
  const created = ok(await u.ocirt(['state', id]), 'state').json()
  assert.equal(created.status, 'created')
  assert.equal(created.owner, u.name)
  const pid: number = created.pid

  // container root is the user outside, in a user namespace of its own
  assert.deepEqual(mapLines(fs.readFileSync(`/proc/${pid}/uid_map`, 'utf8')), [[0, u.uid, 1]])
  assert.deepEqual(mapLines(fs.readFileSync(`/proc/${pid}/gid_map`, 'utf8')), [[0, u.gid, 1]])
  assert.equal(fs.readFileSync(`/proc/${pid}/setgroups`, 'utf8').trim(), 'deny')
  assert.deepEqual(procStatusIds(pid), {uid: u.uid, gid: u.gid})
  assert.notEqual(nsOf(pid, 'user'), nsOf('self', 'user'))
  // no network namespace (spec --rootless) and no cgroup of its own (nothing delegated)
  assert.equal(nsOf(pid, 'net'), nsOf('self', 'net'))
  assert.equal(fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'), fs.readFileSync(`/proc/${process.pid}/cgroup`, 'utf8'))

  ok(await u.ocirt(['start', id]), 'start')
  assert.equal(ok(await u.ocirt(['state', id]), 'state').json().status, 'running')
  // without a cgroup, ps and kill --all find the processes through the container's pid namespace
  const pids = await waitFor('the 3 children of fork-sleep', async () => {
    const p = ok(await u.ocirt(['ps', '--format', 'json', id]), 'ps').json() as number[]
    return p.length === 4 ? p : undefined
  }) as number[]
  assert.ok(pids.includes(pid), `ps ${JSON.stringify(pids)} lists the init ${pid}`)
  ok(await u.ocirt(['kill', '--all', id, 'KILL']), 'kill --all')
  await waitFor('every container process gone', () => pids.every((p) => !fs.existsSync(`/proc/${p}/status`) ||
    /^State:\s+Z/m.test(fs.readFileSync(`/proc/${p}/status`, 'utf8'))))
  await waitFor('stopped', async () => ok(await u.ocirt(['state', id]), 'state').json().status === 'stopped')

  ok(await u.ocirt(['delete', id]), 'delete')
  assert.ok(!fs.existsSync(path.join(root, id)), 'state directory removed')
  assert.equal((await u.ocirt(['state', id])).code, 1, 'state of a deleted container fails')
  assert.equal(fs.existsSync('/run/ocirt'), runRootBefore, 'no /run/ocirt made')
  assert.ok(!fs.existsSync(path.join('/run/ocirt', id)), 'nothing under /run/ocirt')
})

test('rootless foreground run: uid 0 inside a user namespace mapped to the user, files it makes belong to the user', async (t) => {
  if (!rootlessReady(t)) return
  const c = cleanupFor(t)
  const u = makeUser(c)
  const id = `rl-run-${process.pid}`
  const root = path.join(u.home, 'state') // an explicit --root of the user's own
  c.container(id, root)
  await rootlessBundle(u, ['sh', '-c',
    `${PROBE} id; ${PROBE} ns; cat /proc/self/uid_map; ${PROBE} write /shared/made-inside x; ${PROBE} stat /shared/made-inside; ` +
    'echo $(ls /sys/fs/cgroup)'])

  const r = ok(await u.ocirt(['--root', root, 'run', id]), 'run')
  const lines = r.stdout.split('\n')
  assert.equal(lines[0], 'uid=0 gid=0 groups=0', r.stdout)
  const userns = /user=(user:\[\d+\])/.exec(lines[1])?.[1]
  assert.ok(userns && userns !== nsOf('self', 'user'), `a user namespace of its own: ${lines[1]}`)
  assert.deepEqual(mapLines(lines[2]), [[0, u.uid, 1]])
  assert.equal(lines[3], 'ok')
  assert.match(lines[4], /^type=reg mode=0644 uid=0 gid=0 /, 'root inside')
  const made = fs.statSync(path.join(u.bundle, 'shared', 'made-inside'))
  assert.deepEqual({uid: made.uid, gid: made.gid}, {uid: u.uid, gid: u.gid}, 'the user outside')
  // no cgroup of its own, yet /sys/fs/cgroup shows the ones it is in (the caller's), as runc shows them
  const v1 = fs.existsSync('/sys/fs/cgroup/pids/cgroup.procs')
  assert.ok(lines[5].split(' ').includes(v1 ? 'pids' : 'cgroup.procs'), `/sys/fs/cgroup: ${lines[5]}`)

  assert.equal(fs.statSync(root).mode & 0o7777, 0o700)
  assert.deepEqual(fs.readdirSync(root), [], 'run removed its state directory')
  assert.ok(!fs.existsSync(path.join(u.xdg, 'ocirt')), 'an explicit --root is the only root used')
})

test('rootless with newuidmap/newgidmap: 65536 ids from /etc/subuid and /etc/subgid', async (t) => {
  if (!rootlessReady(t, true)) return
  const c = cleanupFor(t)
  const u = makeUser(c)
  const id = `rl-sub-${process.pid}`
  c.container(id, path.join(u.xdg, 'ocirt'))
  await rootlessBundle(u, ['sh', '-c', `${PROBE} id; cat /proc/self/uid_map /proc/self/gid_map; ${PROBE} write /shared/by-1000 x`])
  u.spec.linux.uidMappings = [{containerID: 0, hostID: u.sub, size: SUB_COUNT}]
  u.spec.linux.gidMappings = [{containerID: 0, hostID: u.sub, size: SUB_COUNT}]
  u.spec.process.user = {uid: 1000, gid: 1000}
  u.writeSpec()
  // as if unpacked in the user's own user namespace: the rootfs belongs to container root (sub outside), and
  // uid 1000 inside (sub+1000 outside) may write to /shared
  execFileSync('chown', ['-R', `${u.sub}:${u.sub}`, path.join(u.bundle, 'rootfs')])
  fs.chmodSync(path.join(u.bundle, 'shared'), 0o777)

  const r = ok(await u.ocirt(['run', id]), 'run')
  const lines = r.stdout.trim().split('\n')
  assert.match(lines[0], /^uid=1000 gid=1000 /, r.stdout)
  assert.deepEqual(mapLines(lines.slice(1, 3).join('\n')), [[0, u.sub, SUB_COUNT], [0, u.sub, SUB_COUNT]])
  assert.equal(lines[3], 'ok')
  const made = fs.statSync(path.join(u.bundle, 'shared', 'by-1000'))
  assert.deepEqual({uid: made.uid, gid: made.gid}, {uid: u.sub + 1000, gid: u.sub + 1000})
})

test('rootless: a state root that belongs to someone else is refused', async (t) => {
  if (!rootlessReady(t)) return
  const c = cleanupFor(t)
  const u = makeUser(c)
  await rootlessBundle(u, [PROBE, 'true'])
  const foreign = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-rootless-foreign-'))
  c.dir(foreign)
  fs.chmodSync(foreign, 0o777)
  const r = await u.ocirt(['--root', foreign, 'run', 'x'])
  assert.equal(r.code, 1)
  assert.match(r.stderr, /state root .* belongs to uid 0, not to uid \d+/)
  assert.deepEqual(fs.readdirSync(foreign), [])
})

test('rootless seccomp: the filter loads with and without no_new_privs (root of the user namespace may load it)', async (t) => {
  if (!rootlessReady(t) || !requires(t, 'seccomp')) return
  const c = cleanupFor(t)
  const u = makeUser(c)
  const root = path.join(u.home, 'state')
  await rootlessBundle(u, ['sh', '-c', `${PROBE} nnp; ${PROBE} seccomp; ${PROBE} mkdir /shared/d`])
  u.spec.linux.seccomp = {defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 121}]}
  for (const nnp of [true, false]) {
    const id = `rl-seccomp-${nnp}-${process.pid}`
    c.container(id, root)
    u.spec.process.noNewPrivileges = nnp
    u.writeSpec()
    const r = await u.ocirt(['--root', root, 'run', id])
    assert.equal(r.stdout, `${nnp ? 1 : 0}\n2\nEREMOTEIO\n`, `noNewPrivileges ${nnp}: ${r.stderr}`)
  }
  assert.ok(!fs.existsSync(path.join(u.bundle, 'shared', 'd')), 'the filter, not the user, decided')
})
