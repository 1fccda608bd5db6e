// Rootless checkpoint, restore and migrate are refused (CRIU 4.1 cannot do them without root: docs/rootless.md). A
// throwaway unprivileged user runs a rootless container (spec --rootless: its own id mapped, no cgroup); its
// checkpoint fails naming the missing capabilities and leaves the container running, its restore fails before
// making anything, its migration before it connects. The user, its processes and files are removed afterwards, also on failure.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {execFileSync, spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {cleanupFor} from '../helpers/cleanup'
import {ocirt, type OcirtResult} from '../helpers/ocirt'
import {OCIRT_BIN, PROBE, PROBE_ROOTFS} from '../helpers/paths'
import {requires} from '../helpers/requires'
import {alive, expectFail, sleep} from '../helpers/containers'

const MISSING = 'CRIU 4.1 needs CAP_CHECKPOINT_RESTORE in the initial user namespace (for /proc/<pid>/map_files) together with CAP_SETUID and CAP_SETGID there'

test('checkpoint, restore and migrate of a rootless container are refused, naming what is missing, and change nothing', async (t) => {
  if (!requires(t, 'root', 'probe', 'ocirt', 'userns')) return
  if (spawnSync('sh', ['-c', 'command -v useradd && command -v setpriv'], {stdio: 'ignore'}).status !== 0) return void t.skip('needs useradd and setpriv')
  const c = cleanupFor(t)
  const name = `ocirt-ck-${process.pid.toString(36)}${Math.random().toString(36).slice(2, 6)}`
  execFileSync('useradd', ['--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', name], {stdio: 'pipe'})
  const uid = Number(execFileSync('id', ['-u', name], {encoding: 'utf8'}).trim())
  const gid = Number(execFileSync('id', ['-g', name], {encoding: 'utf8'}).trim())
  c.add(`remove user ${name}`, async () => {
    for (let i = 0; i < 50; i++) {
      const left = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p) && fs.existsSync(`/proc/${p}/status`) &&
        new RegExp(`^Uid:\\s+${uid}\\b`, 'm').test(readQuietly(`/proc/${p}/status`)))
      if (!left.length) break
      for (const p of left) killQuietly(Number(p))
      await sleep(100)
    }
    spawnSync('userdel', [name], {stdio: 'ignore'})
    for (const f of ['/etc/subuid', '/etc/subgid']) {
      if (fs.existsSync(f)) fs.writeFileSync(f, fs.readFileSync(f, 'utf8').split('\n').filter((l) => !l.startsWith(`${name}:`)).join('\n'))
    }
  })
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-ck-rootless-'))
  c.dir(home)
  const bundle = path.join(home, 'bundle')
  const xdg = path.join(home, 'xdg')
  fs.mkdirSync(bundle)
  fs.mkdirSync(xdg, {mode: 0o700})
  execFileSync('cp', ['-a', PROBE_ROOTFS, path.join(bundle, 'rootfs')])
  execFileSync('chown', ['-R', `${uid}:${gid}`, home])
  fs.chmodSync(home, 0o711)
  const env = [`PATH=${path.dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`, `HOME=${home}`, `USER=${name}`, `XDG_RUNTIME_DIR=${xdg}`]
  const asUser = (args: string[]): Promise<OcirtResult> =>
    ocirt(['--reuid', String(uid), '--regid', String(gid), '--init-groups', '/usr/bin/env', '-i', ...env, OCIRT_BIN, ...args], {bin: 'setpriv', cwd: bundle})
  const id = `ck-rl-${process.pid}`
  c.container(id, path.join(xdg, 'ocirt'))

  assert.equal((await asUser(['spec', '--rootless'])).code, 0, 'spec --rootless')
  const specFile = path.join(bundle, 'config.json')
  const spec = JSON.parse(fs.readFileSync(specFile, 'utf8'))
  spec.process.terminal = false
  spec.process.args = [PROBE, 'sleep', '600']
  fs.writeFileSync(specFile, JSON.stringify(spec))
  const run = await asUser(['run', '-d', id])
  assert.equal(run.code, 0, run.stderr)
  const pid: number = JSON.parse((await asUser(['state', id])).stdout).pid

  const img = path.join(home, 'images')
  expectFail(await asUser(['checkpoint', '--image-path', img, id]), MISSING)
  assert.ok(alive(pid), 'the container still runs')
  assert.equal(JSON.parse((await asUser(['state', id])).stdout).status, 'running')
  assert.ok(!fs.existsSync(img), 'no image directory was made')

  // a restore is refused before it reads anything (root's images would do no better)
  expectFail(await asUser(['restore', '-d', '--image-path', img, `${id}-2`]), MISSING)
  expectFail(await asUser(['state', `${id}-2`]), 'container does not exist')

  // and a migration, before it connects anywhere (port 1 of loopback: nothing listens there)
  expectFail(await asUser(['migrate', id, '--to', 'root@127.0.0.1:1']), 'rootless containers cannot migrate: checkpoint needs root')
  assert.ok(alive(pid), 'the container still runs')
  assert.equal(JSON.parse((await asUser(['state', id])).stdout).status, 'running')
})

function readQuietly(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // gone
  }
}
