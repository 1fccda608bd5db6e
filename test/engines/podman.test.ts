// podman 4.x with ocirt as its OCI runtime (podman --runtime bin/ocirt, cgroupfs manager, vfs storage, all in
// private directories): run --rm, run -d, ps, logs, exec, stop, rm, pause/unpause, --memory, run -it on a pty,
// top and stats. Each container podman starts must be ocirt's: its state under /run/ocirt has the pid podman
// reports, and conmon was told to run bin/ocirt with runc's JSON error log.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {cleanupFor} from '../helpers/cleanup'
import {waitFor} from '../helpers/containers'
import {ocirt} from '../helpers/ocirt'
import {OCIRT_BIN} from '../helpers/paths'
import {assertCmd, onTerminal, terminalLines} from '../helpers/engines/command'
import {engineMissing, EXPECTED_SECCOMP_MODE, findBin, IMAGE} from '../helpers/engines/common'
import {cgroupFileOf, seccompModeOf} from '../helpers/engines/proof'
import {OCIRT_DEFAULT_ROOT, Podman} from '../helpers/engines/podman'
import {check} from '../helpers/requires'

/** A container init that ends with status 3 on SIGTERM (pid 1 has no default action for it). */
const SLEEPER = ['sh', '-c', 'echo started; trap "exit 3" TERM; while :; do sleep 0.1; done']

describe('podman with ocirt as its runtime', {skip: engineMissing('podman', 'podman', 'conmon')}, () => {
  const cleanup = cleanupFor(after)
  let p: Podman

  before(async () => {
    p = new Podman(cleanup)
    await p.importImage()
  })

  /** `podman run -d` of SLEEPER (plus FLAGS); returns the full id once the container has printed "started". */
  async function detached(flags: string[] = []): Promise<string> {
    const id = assertCmd(await p.podman(['run', '-d', ...p.runFlags(), ...flags, IMAGE, ...SLEEPER]), 'podman run -d').stdout.trim()
    await waitFor('the container\'s first line in podman logs', async () => (await p.podman(['logs', id])).stdout.includes('started'), 30_000)
    return id
  }

  test('run --rm: the output and exit status come through, and ocirt keeps nothing afterwards', async () => {
    const r = await p.podman(['run', '--rm', ...p.runFlags(), IMAGE, 'sh', '-c', 'echo hello from $(hostname); exit 7'])
    assert.equal(r.code, 7, `exit status passed through (stderr: ${r.stderr})`)
    assert.match(r.stdout, /^hello from \w+\n$/)
    assert.equal((await p.podman(['ps', '-aq'])).stdout, '', 'podman removed the container')
    await waitFor('ocirt to hold no container of this podman', async () => (await p.ocirtContainers()).length === 0)
  })

  test('run -d runs in ocirt (its state, conmon\'s command line); ps, logs, exec, stop and rm work on it', async () => {
    const id = await detached()
    await p.assertRunByOcirt(id)
    assert.equal(seccompModeOf(Number(await p.inspect(id, '{{.State.Pid}}'))), EXPECTED_SECCOMP_MODE, 'the engine\'s seccomp setting reached the container (SECCOMP_UNCONFINED)')
    const conmon = fs.readFileSync(`/proc/${await p.inspect(id, '{{.State.ConmonPid}}')}/cmdline`, 'utf8').split('\0')
    assert.equal(conmon[conmon.indexOf('-r') + 1], OCIRT_BIN, 'conmon runs ocirt')
    assert.ok(conmon.includes('--log-format=json'), `conmon passes runc's JSON log flags to ocirt: ${conmon.join(' ')}`)
    assert.match(assertCmd(await p.podman(['ps', '--no-trunc', '--format', '{{.ID}} {{.Status}}']), 'ps').stdout, new RegExp(`^${id} Up `, 'm'))
    assert.equal(assertCmd(await p.podman(['logs', id]), 'logs').stdout, 'started\n')

    const ex = await p.podman(['exec', id, 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; echo; exit 4'])
    assert.equal(ex.code, 4, `exec's exit status passed through (stderr: ${ex.stderr})`)
    assert.equal(ex.stdout, `${SLEEPER.join(' ')} \n`, 'exec runs in the container\'s pid namespace')
    const missing = await p.podman(['exec', id, 'no-such-command'])
    assert.equal(missing.code, 127, `podman maps ocirt's "not found" error to 127 (stderr: ${missing.stderr})`)
    assert.match(missing.stderr, /no-such-command.*not found/)

    assertCmd(await p.podman(['stop', '-t', '20', id]), 'stop')
    assert.equal(await p.inspect(id, '{{.State.ExitCode}}'), '3', 'stop sent SIGTERM, the trap exited 3')
    assertCmd(await p.podman(['rm', id]), 'rm')
    await waitFor('ocirt to forget the removed container', () => !fs.existsSync(`${OCIRT_DEFAULT_ROOT}/${id}`))
  })

  test('create then start -a, kill, wait and start again: each start is ocirt\'s', async () => {
    const id = assertCmd(await p.podman(['create', ...p.runFlags(), IMAGE, ...SLEEPER]), 'create').stdout.trim()
    assert.equal(await p.inspect(id, '{{.State.Status}}'), 'created')
    assertCmd(await p.podman(['start', id]), 'start')
    await p.assertRunByOcirt(id)
    assertCmd(await p.podman(['kill', id]), 'kill')
    assert.equal(assertCmd(await p.podman(['wait', id]), 'wait').stdout.trim(), '137', 'SIGKILL (podman kill\'s default)')
    assertCmd(await p.podman(['start', id]), 'start again')
    await p.assertRunByOcirt(id)
    assertCmd(await p.podman(['rm', '-f', '-t', '0', id]), 'rm -f')
    const attached = assertCmd(await p.podman(['create', ...p.runFlags(), IMAGE, 'echo', 'attached']), 'create').stdout.trim()
    assert.equal(assertCmd(await p.podman(['start', '-a', attached]), 'start -a').stdout, 'attached\n')
    assertCmd(await p.podman(['rm', attached]), 'rm')
  })

  test('pause and unpause freeze and thaw the container\'s freezer cgroup, and ocirt reports paused', async () => {
    const id = await detached()
    const pid = Number(await p.inspect(id, '{{.State.Pid}}'))
    assertCmd(await p.podman(['pause', id]), 'pause')
    assert.equal(await p.inspect(id, '{{.State.Status}}'), 'paused')
    assert.equal(cgroupFileOf(pid, 'freezer', 'freezer.state'), 'FROZEN')
    assert.equal((await ocirt(['state', id], {root: OCIRT_DEFAULT_ROOT})).json().status, 'paused')
    assertCmd(await p.podman(['unpause', id]), 'unpause')
    assert.equal(await p.inspect(id, '{{.State.Status}}'), 'running')
    assert.equal(cgroupFileOf(pid, 'freezer', 'freezer.state'), 'THAWED')
    assertCmd(await p.podman(['rm', '-f', '-t', '0', id]), 'rm -f')
  })

  test('--memory 64m is the limit of the container\'s memory cgroup, under podman\'s cgroup parent', async () => {
    const id = await detached(['--memory', '64m'])
    const pid = Number(await p.inspect(id, '{{.State.Pid}}'))
    assert.equal(cgroupFileOf(pid, 'memory', 'memory.limit_in_bytes'), String(64 * 1024 * 1024))
    const memLine = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.split(':')[1] === 'memory')
    assert.equal(memLine, `${memLine!.split(':')[0]}:memory:${p.cgroupParent}/libpod-${id}`, 'the cgroup path podman chose')
    assertCmd(await p.podman(['rm', '-f', '-t', '0', id]), 'rm -f')
  })

  test('run -it gives the container a terminal of the caller\'s size, and its exit status', {skip: !findBin('script') && 'needs script (util-linux)'}, async () => {
    // the short wait before the exit: under load, podman's attach has missed the output of a container that printed
    // and exited at once (one run in CI; its exit status came through)
    const r = await onTerminal(p.shellCommand(['run', '-it', '--rm', ...p.runFlags(), IMAGE, 'sh', '-c', 'tty; stty size; sleep 0.3; exit 5']), 30, 100)
    assert.equal(r.code, 5, `exit status through the pty (output: ${r.stdout} ${r.stderr})`)
    const lines = terminalLines(r.stdout)
    assert.ok(lines.includes('/dev/pts/0'), `the container's stdin is its own pty: ${JSON.stringify(r.stdout)}`)
    assert.ok(lines.includes('30 100'), `the pty has the caller's window size: ${JSON.stringify(r.stdout)}`)
  })

  test('exec -it gets a pty of the caller\'s size; run -dt hands the container\'s pty to conmon (console socket)', {skip: !findBin('script') && 'needs script (util-linux)'}, async () => {
    const id = await detached()
    const r = await onTerminal(p.shellCommand(['exec', '-it', id, 'sh', '-c', 'tty; stty size; exit 5']), 31, 101)
    assert.equal(r.code, 5, `exit status through the pty (output: ${r.stdout} ${r.stderr})`)
    const lines = terminalLines(r.stdout)
    assert.ok(lines.some((l) => /^\/dev\/pts\/\d+$/.test(l)), `exec's stdin is a pty: ${JSON.stringify(r.stdout)}`)
    assert.ok(lines.includes('31 101'), `the pty has the caller's window size: ${JSON.stringify(r.stdout)}`)

    const tty = assertCmd(await p.podman(['run', '-dt', ...p.runFlags(), IMAGE, 'sh', '-c', 'tty; sleep 600']), 'run -dt').stdout.trim()
    await waitFor('the terminal container\'s output in podman logs', async () => (await p.podman(['logs', tty])).stdout.replace(/\r/g, '') === '/dev/pts/0\n')
    await p.assertRunByOcirt(tty)
    assertCmd(await p.podman(['rm', '-f', '-t', '0', id, tty]), 'rm -f')
  })

  test('container checkpoint and restore go through ocirt and CRIU: the process goes on where it stopped', {skip: check('criu') ?? false}, async () => {
    const id = assertCmd(await p.podman(['run', '-d', ...p.runFlags(), IMAGE, 'sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.05; done']), 'run -d').stdout.trim()
    const count = async () => Number(assertCmd(await p.podman(['exec', id, 'cat', '/tmp/count']), 'exec cat').stdout)
    await waitFor('the counter to pass 40', async () => (await count()) > 40, 20_000)
    assertCmd(await p.podman(['container', 'checkpoint', id]), 'container checkpoint')
    assert.equal(await p.inspect(id, '{{.State.Status}}'), 'exited')
    // ocirt leaves the checkpointed container stopped; podman's cleanup (`delete --force`) then removes it
    assert.ok(!fs.existsSync(path.join(OCIRT_DEFAULT_ROOT, id)), 'podman deleted the stopped container in ocirt')
    assertCmd(await p.podman(['container', 'restore', id]), 'container restore')
    await p.assertRunByOcirt(id)
    // a fresh start would need 2 s to count past 40; the restored process reads above 40 at once
    const after = await count()
    assert.ok(after > 40, `the counter goes on from above 40, not from 1: ${after}`)
    assertCmd(await p.podman(['rm', '-f', '-t', '0', id]), 'rm -f')
  })

  test('top lists the container\'s processes; stats --no-stream reads its cgroups', async () => {
    const id = await detached(['--memory', '64m'])
    const top = assertCmd(await p.podman(['top', id, 'pid', 'args']), 'top').stdout
    assert.match(top, /^\s*1\s+sh -c echo started/m, `top shows the init as pid 1: ${top}`)
    const stats = assertCmd(await p.podman(['stats', '--no-stream', '--format', '{{.ID}} {{.MemUsage}}', id]), 'stats').stdout
    assert.match(stats, new RegExp(`^${id.slice(0, 12)} [\\d.]+[kMG]?B / 67.11MB$`, 'm'), `stats shows the 64 MiB limit: ${stats}`)
    assertCmd(await p.podman(['rm', '-f', '-t', '0', id]), 'rm -f')
  })
})
