// dockerd 20.10 (a private daemon on a private containerd) with ocirt added as a runtime (--add-runtime
// ocirt=bin/ocirt) and chosen per container (docker run --runtime ocirt): run --rm, -d with exec and stop,
// pause/unpause, --memory. ocirt's state under the root the shim gave it must hold each container with the
// pid docker reports.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {cleanupFor} from '../helpers/cleanup'
import {waitFor} from '../helpers/containers'
import {ocirt} from '../helpers/ocirt'
import {assertCmd, onTerminal, terminalLines} from '../helpers/engines/command'
import {engineMissing, EXPECTED_SECCOMP_MODE, findBin, IMAGE} from '../helpers/engines/common'
import {assertRunByOcirt, cgroupFileOf, seccompModeOf} from '../helpers/engines/proof'
import {dockerCli, Dockerd, RUNTIME_NAME} from '../helpers/engines/docker'

const SLEEPER = ['sh', '-c', 'echo started; trap "exit 3" TERM; while :; do sleep 0.1; done']

describe('dockerd with ocirt as an added runtime', {skip: engineMissing('docker', 'dockerd', dockerCli() ?? 'docker', 'containerd', 'ctr', 'containerd-shim-runc-v2')}, () => {
  const cleanup = cleanupFor(after)
  let d: Dockerd

  before(async () => {
    d = await Dockerd.start(cleanup)
    await d.importImage()
  })

  async function detached(flags: string[] = []): Promise<{id: string; pid: number}> {
    const id = assertCmd(await d.docker(['run', '-d', ...d.runFlags(), ...flags, IMAGE, ...SLEEPER]), 'docker run -d').stdout.trim()
    await waitFor('the container\'s first line in docker logs', async () => (await d.docker(['logs', id])).stdout.includes('started'), 30_000)
    return {id, pid: Number(await d.inspect(id, '{{.State.Pid}}'))}
  }

  test('run --rm: output and exit status come through, under dockerd\'s cgroup parent', async () => {
    const r = await d.docker(['run', '--rm', ...d.runFlags(), IMAGE, 'sh', '-c', 'echo hello; cat /proc/self/cgroup; exit 6'])
    assert.equal(r.code, 6, `exit status passed through (stderr: ${r.stderr})`)
    assert.match(r.stdout, /^hello\n/)
    assert.match(r.stdout, new RegExp(`^\\d+:memory:${d.cgroupParent}/[0-9a-f]{64}$`, 'm'), 'the cgroup path docker chose')
    const missing = await d.docker(['run', '--rm', ...d.runFlags(), IMAGE, 'no-such-command'])
    assert.equal(missing.code, 127, `docker maps ocirt's "not found" create error to 127 (stderr: ${missing.stderr})`)
    assert.equal((await d.docker(['ps', '-aq'])).stdout, '', 'docker removed both containers')
  })

  test('run -d runs in ocirt; exec and stop work on it', async () => {
    const {id, pid} = await detached()
    assert.equal(await d.inspect(id, '{{.HostConfig.Runtime}}'), RUNTIME_NAME)
    const root = d.ocirtStateRootOf(id)
    await assertRunByOcirt(root, id, pid)
    assert.equal(seccompModeOf(pid), EXPECTED_SECCOMP_MODE, 'the engine\'s seccomp setting reached the container (SECCOMP_UNCONFINED)')

    const ex = await d.docker(['exec', id, 'sh', '-c', 'echo pid1=$(cat /proc/1/cmdline | tr "\\0" " "); exit 4'])
    assert.equal(ex.code, 4, `exec's exit status passed through (stderr: ${ex.stderr})`)
    assert.equal(ex.stdout, `pid1=${SLEEPER.join(' ')}\n`, 'exec runs in the container\'s pid namespace')
    const missing = await d.docker(['exec', id, 'no-such-command'])
    assert.equal(missing.code, 126, `docker exec reports a failed exec as 126, as with runc (stderr: ${missing.stderr})`)
    assert.match(missing.stdout + missing.stderr, /OCI runtime exec failed: .*no-such-command.*not found/)

    assertCmd(await d.docker(['stop', '-t', '20', id]), 'docker stop')
    assert.equal(await d.inspect(id, '{{.State.ExitCode}}'), '3', 'stop sent SIGTERM, the trap exited 3')
    assert.ok(!fs.existsSync(path.join(root, id)), 'the shim deleted the stopped container in ocirt')
    assertCmd(await d.docker(['rm', id]), 'docker rm')
  })

  test('run -it and exec -it: a pty of the caller\'s size through the shim\'s console socket', {skip: !findBin('script') && 'needs script (util-linux)'}, async () => {
    // the docker CLI sizes the pty only after the container started (a race with the container's first
    // instructions, whatever the runtime): the container reads its size a moment later
    const r = await onTerminal(d.shellCommand(['run', '-it', '--rm', ...d.runFlags(), IMAGE, 'sh', '-c', 'tty; sleep 1; stty size; exit 5']), 30, 100)
    assert.equal(r.code, 5, `exit status through the pty (output: ${r.stdout} ${r.stderr})`)
    assert.ok(terminalLines(r.stdout).includes('/dev/pts/0'), `the container's stdin is its own pty: ${JSON.stringify(r.stdout)}`)
    assert.ok(terminalLines(r.stdout).includes('30 100'), `the pty has the caller's window size: ${JSON.stringify(r.stdout)}`)

    const {id} = await detached()
    const ex = await onTerminal(d.shellCommand(['exec', '-it', id, 'sh', '-c', 'tty; sleep 1; stty size; exit 4']), 31, 101)
    assert.equal(ex.code, 4, `exec's exit status through the pty (output: ${ex.stdout} ${ex.stderr})`)
    assert.ok(terminalLines(ex.stdout).some((l) => /^\/dev\/pts\/\d+$/.test(l)), `exec's stdin is a pty: ${JSON.stringify(ex.stdout)}`)
    assert.ok(terminalLines(ex.stdout).includes('31 101'), `exec's pty has the caller's window size: ${JSON.stringify(ex.stdout)}`)
    assertCmd(await d.docker(['rm', '-f', id]), 'docker rm -f')
  })

  test('pause and unpause freeze and thaw the container, and ocirt reports paused', async () => {
    const {id, pid} = await detached()
    assertCmd(await d.docker(['pause', id]), 'docker pause')
    assert.equal(await d.inspect(id, '{{.State.Status}}'), 'paused')
    assert.equal(cgroupFileOf(pid, 'freezer', 'freezer.state'), 'FROZEN')
    assert.equal((await ocirt(['state', id], {root: d.ocirtStateRootOf(id)})).json().status, 'paused')
    assertCmd(await d.docker(['unpause', id]), 'docker unpause')
    assert.equal(await d.inspect(id, '{{.State.Status}}'), 'running')
    assert.equal(cgroupFileOf(pid, 'freezer', 'freezer.state'), 'THAWED')
    assertCmd(await d.docker(['rm', '-f', id]), 'docker rm -f')
  })

  test('update (ocirt update --resources -) changes the live cgroup; restart runs the container again in ocirt', async () => {
    const {id, pid} = await detached(['--memory', '64m', '--pids-limit', '50'])
    assertCmd(await d.docker(['update', '--memory', '128m', '--memory-swap', '256m', '--pids-limit', '70', id]), 'docker update')
    assert.equal(cgroupFileOf(pid, 'memory', 'memory.limit_in_bytes'), String(128 * 1024 * 1024))
    assert.equal(cgroupFileOf(pid, 'pids', 'pids.max'), '70')
    assertCmd(await d.docker(['restart', '-t', '20', id]), 'docker restart')
    const again = Number(await d.inspect(id, '{{.State.Pid}}'))
    assert.notEqual(again, pid, 'a new init')
    await assertRunByOcirt(d.ocirtStateRootOf(id), id, again)
    assert.equal(cgroupFileOf(again, 'memory', 'memory.limit_in_bytes'), String(128 * 1024 * 1024), 'the updated limit is kept')
    assertCmd(await d.docker(['rm', '-f', id]), 'docker rm -f')
  })

  test('--memory 64m is the limit of the container\'s memory cgroup, and docker stats reads it', async () => {
    const {id, pid} = await detached(['--memory', '64m'])
    assert.equal(cgroupFileOf(pid, 'memory', 'memory.limit_in_bytes'), String(64 * 1024 * 1024))
    const stats = assertCmd(await d.docker(['stats', '--no-stream', '--format', '{{.MemUsage}}', id]), 'docker stats').stdout
    assert.match(stats, /^[\d.]+[KMG]?i?B \/ 64MiB$/m, `stats shows the 64 MiB limit: ${stats}`)
    assertCmd(await d.docker(['rm', '-f', id]), 'docker rm -f')
  })
})
