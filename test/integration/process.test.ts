// What the container process gets from spec.process and linux.sysctl: rlimits, capabilities (compared with
// runc on the same bundle), no_new_privs, uid/gid/additional gids, umask, env, cwd, sysctls, oom_score_adj.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import {requires} from '../helpers/requires'
import {containerBundle, runcRun, runOut, sh} from '../helpers/containers'
import {PROBE} from '../helpers/paths'

const CAP = {CHOWN: 0, DAC_OVERRIDE: 1, KILL: 5, SETGID: 6, SETUID: 7, NET_BIND_SERVICE: 10, NET_RAW: 13, SYS_ADMIN: 21}

function mask(...caps: (keyof typeof CAP)[]): string {
  return caps.reduce((m, c) => m | (1n << BigInt(CAP[c])), 0n).toString(16).padStart(16, '0')
}

const joined = (...cmds: string[]) => sh(cmds.join('; echo ---; '))
const sections = (out: string) => out.split('---\n').map((s) => s.trimEnd())

test('rlimits from the spec', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {
    rlimits: [{type: 'RLIMIT_NOFILE', soft: 512, hard: 1024}, {type: 'RLIMIT_CORE', soft: 0, hard: 0}, {type: 'RLIMIT_NPROC', soft: 300, hard: 400}],
    args: joined(`${PROBE} rlimit NOFILE`, `${PROBE} rlimit CORE`, `${PROBE} rlimit NPROC`),
  }})
  assert.deepEqual(sections(await runOut(b)), ['512 1024', '0 0', '300 400'])
})

test('capabilities: exactly the spec\'s sets; ambient limited to permitted ∩ inheritable as with runc', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'runc')) return
  const b = containerBundle(t, {process: {
    args: [PROBE, 'caps'],
    capabilities: {
      bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETUID', 'CAP_NET_RAW'],
      effective: ['CAP_KILL', 'CAP_NET_BIND_SERVICE'],
      permitted: ['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'],
      inheritable: ['CAP_NET_BIND_SERVICE', 'CAP_CHOWN', 'CAP_NET_RAW'],
      ambient: ['CAP_NET_BIND_SERVICE', 'CAP_CHOWN'],
    },
  }})
  const mine = await runOut(b)
  // uid 0 gets the bounding set in permitted and effective at execve (root's implicit file caps): the spec's
  // effective and permitted sets show as such only for a non-root user, checked below
  assert.match(mine, new RegExp(`^bnd=${mask('CHOWN', 'KILL', 'NET_BIND_SERVICE', 'SETUID', 'NET_RAW')} `))
  assert.match(mine, new RegExp(` inh=${mask('CHOWN', 'NET_BIND_SERVICE', 'NET_RAW')} amb=${mask('NET_BIND_SERVICE')}\n$`))
  const theirs = runcRun(b)
  assert.equal(theirs.code, 0, theirs.stderr)
  assert.equal(mine, theirs.stdout, 'the same five sets as runc')

  const user = containerBundle(t, {process: {...b.spec.process, user: {uid: 1000, gid: 1000}}})
  const mineUser = await runOut(user)
  assert.equal(mineUser, `bnd=${mask('CHOWN', 'KILL', 'NET_BIND_SERVICE', 'SETUID', 'NET_RAW')} eff=${mask('NET_BIND_SERVICE')} ` +
    `prm=${mask('NET_BIND_SERVICE')} inh=${mask('CHOWN', 'NET_BIND_SERVICE', 'NET_RAW')} amb=${mask('NET_BIND_SERVICE')}\n`,
  'a non-root process keeps only its ambient caps across execve')
  assert.equal(mineUser, runcRun(user).stdout, 'as runc')
})

test('noNewPrivileges sets no_new_privs; without it the bit is clear', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const on = containerBundle(t, {process: {args: [PROBE, 'nnp'], noNewPrivileges: true}})
  assert.equal(await runOut(on), '1\n')
  const off = containerBundle(t, {process: {args: [PROBE, 'nnp'], noNewPrivileges: false}})
  assert.equal(await runOut(off), '0\n')
})

test('user: uid, gid and additional gids; the umask', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'runc')) return
  const b = containerBundle(t, {process: {
    user: {uid: 1000, gid: 1000, additionalGids: [10, 29], umask: 0o027},
    args: joined(`${PROBE} id`, `${PROBE} umask`),
  }})
  const out = await runOut(b)
  assert.deepEqual(sections(out), ['uid=1000 gid=1000 groups=10,29', '0027'])
  assert.equal(out, runcRun(b).stdout, 'as runc')

  const plain = containerBundle(t, {process: {user: {uid: 0, gid: 0}, args: joined(`${PROBE} id`, `${PROBE} umask`)}})
  const plainOut = await runOut(plain)
  assert.deepEqual(sections(plainOut), ['uid=0 gid=0 groups=', '0022'], 'runc\'s default umask is 0022')
  assert.equal(plainOut, runcRun(plain).stdout, 'as runc')
})

test('env and cwd: the spec\'s environment, as runc sets it (HOME added), and the working directory', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'runc')) return
  const b = containerBundle(t, {process: {
    env: ['PATH=/bin', 'A=1', 'B=two words', 'EMPTY='],
    cwd: '/home/user',
    user: {uid: 1000, gid: 1000},
    args: joined(`${PROBE} env`, `${PROBE} cwd`),
  }})
  const out = await runOut(b)
  const [env, cwd] = sections(out)
  assert.equal(cwd, '/home/user')
  const vars = env.split('\n')
  for (const v of ['PATH=/bin', 'A=1', 'B=two words', 'EMPTY=', 'HOME=/home/user']) assert.ok(vars.includes(v), `${v} in ${vars}`)
  assert.equal(out, runcRun(b).stdout, 'the same environment and cwd as runc')
})

test('sysctl in a new network namespace; the host keeps its value', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const host = fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8')
  const want = host.trim() === '1' ? '0' : '1'
  const b = containerBundle(t, (s) => {
    s.linux!.sysctl = {'net.ipv4.ip_forward': want, 'net.ipv4.ping_group_range': '0 0'}
    s.process!.args = joined(`${PROBE} read /proc/sys/net/ipv4/ip_forward`, `${PROBE} read /proc/sys/net/ipv4/ping_group_range`)
  })
  const [fwd, range] = sections(await runOut(b))
  assert.equal(fwd, want)
  assert.match(range, /^0\s+0$/)
  assert.equal(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'), host, 'the host value is unchanged')
})

test('oomScoreAdj (a positive value: root here lacks CAP_SYS_RESOURCE for negative ones)', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {oomScoreAdj: 345, args: [PROBE, 'read', '/proc/self/oom_score_adj']}})
  assert.equal(await runOut(b), '345\n')
})
