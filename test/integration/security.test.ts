// Security properties: a 0700 state root, the waiting init running from a sealed memfd copy of the helper
// (CVE-2019-5736), and no fd of the caller reaching the container except the --preserve-fds ones
// (CVE-2024-21626; engines start runtimes with extra fds open).
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {assertOk} from '../helpers/ocirt'
import {requires} from '../helpers/requires'
import {containerBundle, stateOf, type TestBundle} from '../helpers/containers'
import {OCIRT_BIN, PROBE, REPO} from '../helpers/paths'

/** `ocirt run` with fds 3.. of ocirt being `extra` (inherited without close-on-exec, as engines do). */
function runWithFds(b: TestBundle, extra: number[], flags: string[] = []): Promise<{code: number | null; out: string}> {
  const outFile = path.join(path.dirname(b.dir), `out-${Date.now()}`)
  const out = fs.openSync(outFile, 'w+')
  const child = spawn(OCIRT_BIN, ['--root', b.root, 'run', ...flags, '--bundle', b.dir, b.id], {stdio: ['ignore', out, out, ...extra]})
  b.cleanup.pid(child)
  fs.closeSync(out)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('ocirt run did not exit within 30 s')), 30_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({code, out: fs.readFileSync(outFile, 'utf8')})
    })
  })
}

/** A file in the bundle's parent dir opened for reading (fds the test owns; closed by the caller). */
function openFile(b: TestBundle, name: string, content: string): number {
  const file = path.join(path.dirname(b.dir), name)
  fs.writeFileSync(file, content)
  return fs.openSync(file, 'r')
}

test('the state root and the container directory are 0700, state.json 0600', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'sleep', '60']}})
  assert.ok(!fs.existsSync(b.root), 'ocirt creates the root itself')
  assertOk(await b.ocirt(['create', '--bundle', b.dir, b.id]), 'create')
  const mode = (p: string) => fs.statSync(p).mode & 0o7777
  assert.equal(mode(b.root).toString(8), '700')
  assert.equal(mode(path.join(b.root, b.id)).toString(8), '700')
  assert.equal(mode(path.join(b.root, b.id, 'state.json')).toString(8), '600')
})

test('the waiting init runs from a sealed memfd, not from the helper file on disk', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'sleep', '60']}})
  assertOk(await b.ocirt(['create', '--bundle', b.dir, b.id]), 'create')
  const {pid, status} = await stateOf(b)
  assert.equal(status, 'created')
  const exe = fs.readlinkSync(`/proc/${pid}/exe`)
  assert.equal(exe, '/memfd:ocirt-init (deleted)')
  assert.ok(!exe.startsWith(path.join(REPO, 'native')), exe)
  // the copy cannot be changed through /proc/<pid>/exe: write seals (or the running text) refuse it
  let refused: string | undefined
  try {
    const fd = fs.openSync(`/proc/${pid}/exe`, 'r+')
    try {
      fs.writeSync(fd, Buffer.from('x'), 0, 1, 0)
    } finally {
      fs.closeSync(fd)
    }
  } catch (err) {
    refused = (err as NodeJS.ErrnoException).code
  }
  assert.ok(refused === 'EPERM' || refused === 'ETXTBSY' || refused === 'EACCES', `writing the init's exe is refused (${refused})`)
})

test('an fd the caller leaves open without close-on-exec does not reach the container', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'fds']}})
  const fds = [openFile(b, 'a', 'A'), openFile(b, 'b', 'B')]
  t.after(() => fds.forEach((fd) => fs.closeSync(fd)))
  const r = await runWithFds(b, fds)
  assert.equal(r.code, 0, r.out)
  assert.equal(r.out, '0 1 2\n')
})

test('--preserve-fds N passes exactly fds 3..3+N-1, the caller\'s own files', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt')) return
  const b = containerBundle(t, {process: {args: [PROBE, 'fds']}})
  const fds = [openFile(b, 'a', 'first'), openFile(b, 'b', 'second'), openFile(b, 'c', 'third')]
  t.after(() => fds.forEach((fd) => fs.closeSync(fd)))
  const r = await runWithFds(b, fds, ['--preserve-fds', '2'])
  assert.equal(r.code, 0, r.out)
  assert.equal(r.out, '0 1 2 3 4\n', 'fds 3 and 4 passed, fd 5 not')

  const c = containerBundle(t, {process: {args: ['/bin/sh', '-c', `${PROBE} read /proc/self/fd/3; ${PROBE} read /proc/self/fd/4`]}})
  const r2 = await runWithFds(c, fds, ['--preserve-fds', '2'])
  assert.equal(r2.code, 0, r2.out)
  assert.equal(r2.out, 'firstsecond', 'the preserved fds are the caller\'s fds 3 and 4')
})
