// Bad input to `create`: each case gives ONE error line on stderr naming the container and the cause, exit
// status 1, the same message in --log (text and json), and leaves nothing behind: no state dir, no cgroup
// dir, no new mount, no process.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type {Spec} from '../../src/core/spec/types'
import {assertOk} from '../helpers/ocirt'
import {requires} from '../helpers/requires'
import {cgroupDirsLeft, containerBundle, stateOf, type TestBundle} from '../helpers/containers'
import {PROBE_ROOTFS} from '../helpers/paths'

// every process this test's ocirt starts carries this variable (from ocirt's env, then from the spec's)
const MARK = 'OCIRT_TEST_MARK'

interface Case {
  name: string
  /** the error text expected in the message */
  expect: string | RegExp
  edit?: (s: Spec) => void
  setup?: (b: TestBundle) => void
  id?: string
  bundle?: (b: TestBundle) => string
  copyRootfs?: boolean
  /** an invalid id is named in the message's text (quoted), not in its head: "create: invalid container id ..." */
  badId?: boolean
}

const CASES: Case[] = [
  {name: 'an empty id', id: '', expect: 'container id cannot be empty', badId: true},
  {name: 'the id "/"', id: '/', expect: 'invalid container id "/"', badId: true},
  {name: 'the id ".."', id: '..', expect: 'invalid container id ".."', badId: true},
  {name: 'an id with a path', id: '../escape', expect: 'invalid container id "../escape"', badId: true},
  {name: 'an over-long id', id: 'a'.repeat(300), expect: 'container id is too long (300 characters, at most 255)', badId: true},
  {name: 'an id with a space', id: 'two words', expect: 'invalid container id "two words"', badId: true},
  {name: 'an id with odd characters', id: 'semi;colon$', expect: 'invalid container id "semi;colon$"', badId: true},
  {name: 'a missing bundle', bundle: (b) => path.join(b.dir, 'nowhere'), expect: /open bundle: bundle \S+\/nowhere does not exist/},
  {name: 'a missing config.json', setup: (b) => fs.rmSync(path.join(b.dir, 'config.json')), expect: /read config.json: \S+config.json not found/},
  {
    name: 'a malformed config.json', setup: (b) => fs.writeFileSync(path.join(b.dir, 'config.json'), '{"ociVersion": "1.0.2",\n'),
    expect: /parse config.json: \S+: invalid JSON at line 2, column 1/,
  },
  {name: 'an unsupported ociVersion', edit: (s) => void (s.ociVersion = '2.0.0'), expect: 'ociVersion: unsupported version "2.0.0"'},
  {name: 'a missing rootfs', edit: (s) => void (s.root = {path: '/nonexistent-rootfs'}), expect: 'rootfs /nonexistent-rootfs does not exist'},
  {
    name: 'an unknown namespace', edit: (s) => void s.linux!.namespaces!.push({type: 'bogus' as 'pid'}),
    expect: 'linux.namespaces[5].type: unknown namespace "bogus"',
  },
  {
    name: 'an unknown capability', edit: (s) => void s.process!.capabilities!.bounding!.push('CAP_BOGUS'),
    expect: 'process.capabilities.bounding[3]: unknown capability "CAP_BOGUS"',
  },
  {
    name: 'a mount destination escaping the rootfs through a symlink', copyRootfs: true,
    setup: (b) => fs.symlinkSync('../../../../etc', path.join(b.rootfsDir, 'escape')),
    edit: (s) => void s.mounts!.push({destination: '/escape/sub', type: 'tmpfs', source: 'tmpfs'}),
    expect: 'mounts[6].destination /escape/sub escapes the rootfs through the symlink /escape -> ../../../../etc',
  },
  {
    name: 'an unknown I/O priority class', edit: (s) => void (s.process!.ioPriority = {class: 'IOPRIO_CLASS_FAST', priority: 1}),
    expect: 'process.ioPriority.class: unknown class "IOPRIO_CLASS_FAST"',
  },
  {
    name: 'a nice value out of range', edit: (s) => void (s.process!.scheduler = {policy: 'SCHED_BATCH', nice: 20}),
    expect: 'process.scheduler.nice: must be an integer from -20 to 19',
  },
  {
    name: 'a malformed CPU list', edit: (s) => void (s.process!.execCPUAffinity = {initial: '0-', final: '1'}),
    expect: 'process.execCPUAffinity.initial: invalid CPU list "0-"',
  },
  {
    name: 'a network device the host does not have', edit: (s) => void (s.linux!.netDevices = {'oc-procx-none': {name: 'eth1'}}),
    expect: 'linux.netDevices["oc-procx-none"]: the host has no network device "oc-procx-none"',
  },
  {
    name: 'network devices without a network namespace',
    edit: (s) => {
      s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'network')
      s.linux!.netDevices = {lo: {name: 'lo2'}}
    },
    expect: 'linux.netDevices: network devices can only be moved into a network namespace of the container\'s own',
  },
  {
    name: 'a failing prestart hook', edit: (s) => void (s.hooks = {prestart: [{path: '/bin/sh', args: ['sh', '-c', 'echo no way >&2; exit 3']}]}),
    expect: 'prestart hook #0 (/bin/sh): exit status 3: no way',
  },
  {
    name: 'a process that does not exist in the rootfs', edit: (s) => void (s.process!.args = ['/bin/nonexistent']),
    expect: 'exec: "/bin/nonexistent": stat /bin/nonexistent: no such file or directory',
  },
  {
    name: 'a process that is not executable', edit: (s) => void (s.process!.args = ['/etc/passwd']),
    expect: 'exec: "/etc/passwd": permission denied: EACCES',
  },
  {
    name: 'a seccomp notify rule without a listenerPath',
    edit: (s) => void (s.linux!.seccomp = {defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_NOTIFY'}]}),
    expect: 'linux.seccomp.listenerPath: must be set when a rule uses SCMP_ACT_NOTIFY',
  },
  {
    name: 'a seccomp listenerPath nobody listens on',
    edit: (s) => void (s.linux!.seccomp = {defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/nonexistent-ocirt-agent.sock', syscalls: [{names: ['mkdir'], action: 'SCMP_ACT_NOTIFY'}]}),
    expect: /send the seccomp listener to \/nonexistent-ocirt-agent\.sock: connect \/nonexistent-ocirt-agent\.sock: ENOENT/,
  },
  {
    name: 'a seccomp profile that denies what the runtime needs before execve',
    edit: (s) => void (s.linux!.seccomp = {defaultAction: 'SCMP_ACT_ERRNO'}),
    expect: 'prepare container: the container process ended without a word after its seccomp filter was loaded: the profile likely denies a syscall ocirt needs before execve',
  },
  {
    name: 'no mount namespace', edit: (s) => void (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'mount')),
    expect: 'linux.namespaces: a container needs a mount namespace',
  },
  {
    name: 'a bind mount of a missing source',
    edit: (s) => void s.mounts!.push({destination: '/mnt', type: 'bind', source: '/nonexistent-source', options: ['rbind']}),
    expect: 'bind source /nonexistent-source does not exist',
  },
]

function mountPoints(): Set<string> {
  return new Set(fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')[4]))
}

/** Processes carrying the mark, or (for a private rootfs copy) whose cwd, root or exe lies in it. */
function markedProcesses(mark: string, privateRootfs?: string): string[] {
  const found: string[] = []
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    const read = (f: string, link = false) => {
      try {
        return link ? fs.readlinkSync(`/proc/${pid}/${f}`) : fs.readFileSync(`/proc/${pid}/${f}`, 'latin1')
      } catch {
        return ''
      }
    }
    if (read('environ').split('\0').includes(`${MARK}=${mark}`)) found.push(`${pid} (${read('cmdline').replace(/\0/g, ' ')})`)
    else if (privateRootfs && ['cwd', 'root', 'exe'].some((l) => read(l, true).startsWith(privateRootfs))) found.push(`${pid} in the rootfs`)
  }
  return found
}

/** What `create` left behind, as readable lines (empty when nothing). */
function leftovers(b: TestBundle, id: string, mark: string, mountsBefore: Set<string>, copy: boolean): string[] {
  const left: string[] = []
  if (id && fs.existsSync(b.root)) left.push(...fs.readdirSync(b.root).map((e) => `state entry ${path.join(b.root, e)}`))
  left.push(...cgroupDirsLeft(b.cgroupsPath).map((d) => `cgroup ${d}`))
  const ours = [path.dirname(b.dir), b.rootfsDir, PROBE_ROOTFS]
  for (const m of mountPoints()) {
    if (!mountsBefore.has(m) && ours.some((p) => m === p || m.startsWith(p + '/'))) left.push(`mount ${m}`)
  }
  left.push(...markedProcesses(mark, copy ? b.rootfsDir : undefined).map((p) => `process ${p}`))
  return left
}

/** The msg of a logrus text line: time="..." level=error msg="..." */
function textLogMsg(line: string): string {
  const m = /^time="([^"]+)" level=error msg=(".*")$/.exec(line)
  assert.ok(m, `a logrus text line: ${line}`)
  assert.ok(!Number.isNaN(Date.parse(m[1])))
  return JSON.parse(m[2])
}

function jsonLogMsg(line: string): string {
  const entry = JSON.parse(line)
  assert.deepEqual(Object.keys(entry), ['level', 'msg', 'time'])
  assert.equal(entry.level, 'error')
  assert.ok(!Number.isNaN(Date.parse(entry.time)))
  return entry.msg
}

for (const c of CASES) {
  test(`create with ${c.name}: one error line, exit 1, the same in --log, nothing left behind`, async (t) => {
    if (!requires(t, 'root', 'probe', 'ocirt')) return
    const b = containerBundle(t, undefined, {copyRootfs: c.copyRootfs})
    const id = c.id ?? b.id
    const mark = `bad-input-${b.id}`
    b.writeSpec((s) => {
      s.process!.env!.push(`${MARK}=${mark}`)
      c.edit?.(s)
    })
    c.setup?.(b)
    const mountsBefore = mountPoints()
    for (const format of ['text', 'json']) {
      const log = path.join(path.dirname(b.dir), `log.${format}`)
      const r = await b.ocirt(['create', '--bundle', c.bundle?.(b) ?? b.dir, id],
        {globals: ['--log', log, '--log-format', format], env: {[MARK]: mark}})
      const lines = r.stderr.split('\n').filter(Boolean)
      assert.equal(r.code, 1, `exit status (stderr: ${r.stderr})`)
      assert.equal(lines.length, 1, `one line on stderr:\n${r.stderr}`)
      const msg = lines[0]
      if (typeof c.expect === 'string') assert.ok(msg.includes(c.expect), `"${msg}" says ${c.expect}`)
      else assert.match(msg, c.expect)
      assert.ok(msg.startsWith(c.badId ? 'create: ' : `create ${id}: `), `"${msg}" names the verb and the container`)
      const logged = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean)
      assert.equal(logged.length, 1, `one line in the ${format} log:\n${logged.join('\n')}`)
      assert.equal(format === 'text' ? textLogMsg(logged[0]) : jsonLogMsg(logged[0]), msg, `the ${format} log holds the same message`)
      assert.deepEqual(leftovers(b, id, mark, mountsBefore, c.copyRootfs === true), [], 'nothing left behind')
    }
  })
}

test('create with a duplicate id: one error line, exit 1, the first container untouched', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const first = containerBundle(t, {process: {args: ['/bin/probe', 'sleep', '60']}})
  assertOk(await first.ocirt(['create', '--bundle', first.dir, first.id]), 'create')
  const before = await stateOf(first)
  const entries = fs.readdirSync(path.join(first.root, first.id)).sort()
  const second = containerBundle(t)
  const log = path.join(path.dirname(second.dir), 'log.json')
  const r = await first.ocirt(['create', '--bundle', second.dir, first.id], {globals: ['--log', log, '--log-format', 'json']})
  assert.equal(r.code, 1)
  assert.equal(r.stderr, `create ${first.id}: container with given ID already exists\n`)
  assert.equal(jsonLogMsg(fs.readFileSync(log, 'utf8').trim()), r.stderr.trim())
  assert.deepEqual(await stateOf(first), before, 'the first container is unchanged')
  assert.deepEqual(fs.readdirSync(path.join(first.root, first.id)).sort(), entries, 'its state dir is unchanged')
  assert.deepEqual(cgroupDirsLeft(second.cgroupsPath), [], 'no cgroup for the refused bundle')
})

test('the leftover check is not vacuous: it sees a live container\'s state dir, cgroup and processes', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: ['/bin/probe', 'sleep', '60']}})
  const mark = `bad-input-${b.id}`
  b.writeSpec((s) => void s.process!.env!.push(`${MARK}=${mark}`))
  const mountsBefore = mountPoints()
  assertOk(await b.ocirt(['create', '--bundle', b.dir, b.id], {env: {[MARK]: mark}}), 'create')
  const left = leftovers(b, b.id, mark, mountsBefore, false)
  assert.ok(left.some((l) => l.startsWith('state entry')), left.join('\n'))
  assert.ok(left.some((l) => l.startsWith('cgroup')), left.join('\n'))
  const {pid} = await stateOf(b)
  assert.ok(left.some((l) => l.startsWith(`process ${pid} `)), left.join('\n'))
})
