// containerd 1.6 (a private daemon) with ctr, through the io.containerd.runc.v2 shim with ocirt as its runc
// binary: run --rm, a detached task with exec, ps, pause/resume, kill and delete. The shim prefixes every call
// with --root, --log and --log-format json; ocirt's state under that root must hold the task with ctr's pid.
import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {cleanupFor} from '../helpers/cleanup'
import {waitFor} from '../helpers/containers'
import {ocirt} from '../helpers/ocirt'
import {assertCmd, onTerminal, terminalLines} from '../helpers/engines/command'
import {engineMissing, EXPECTED_SECCOMP_MODE, findBin, IMAGE, uniqueName} from '../helpers/engines/common'
import {assertRunByOcirt, cgroupFileOf, seccompModeOf} from '../helpers/engines/proof'
import {Containerd} from '../helpers/engines/containerd'
import {check} from '../helpers/requires'

const SLEEPER = ['sh', '-c', 'trap "exit 3" TERM; while :; do sleep 0.1; done']

describe('containerd (ctr, runc v2 shim) with ocirt as the runc binary', {skip: engineMissing('containerd', 'containerd', 'ctr', 'containerd-shim-runc-v2')}, () => {
  const cleanup = cleanupFor(after)
  let c: Containerd

  before(async () => {
    c = await Containerd.start(cleanup)
    await c.importImage()
  })

  test('ctr run --rm: output and exit status come through; the shim deletes the container in ocirt', async () => {
    const id = uniqueName('rm')
    const r = await c.ctr(['run', '--rm', ...c.runFlags(), IMAGE, id, 'sh', '-c', 'echo hello; cat /proc/self/cgroup; exit 6'])
    assert.equal(r.code, 6, `exit status passed through (stderr: ${r.stderr})`)
    assert.match(r.stdout, /^hello\n/)
    assert.match(r.stdout, new RegExp(`^\\d+:memory:/${c.namespace}/${id}$`, 'm'), 'the cgroup path containerd chose: /<namespace>/<id>')
    assert.equal((await c.ctr(['containers', 'ls', '-q'])).stdout, '', 'ctr removed the container')
    assert.ok(!fs.existsSync(path.join(c.ocirtStateRoot(), id)), 'ocirt\'s state of the container is gone')
  })

  test('ctr run -t and task exec -t: the shim passes ocirt a console socket, the pty reaches ctr', {skip: !findBin('script') && 'needs script (util-linux)'}, async () => {
    // ctr sizes the pty only after Start returns (a race with the container's first instructions, whatever the
    // runtime): the container reads its size a moment later, which also shows the shim's resize reached it.
    const id = uniqueName('tty')
    const r = await onTerminal(c.shellCommand(['run', '--rm', '-t', ...c.runFlags(), IMAGE, id, 'sh', '-c', 'tty; sleep 1; stty size; exit 5']), 30, 100)
    assert.equal(r.code, 5, `exit status through the pty (output: ${r.stdout} ${r.stderr})`)
    const lines = terminalLines(r.stdout)
    assert.ok(lines.includes('/dev/pts/0'), `the container's stdin is its own pty: ${JSON.stringify(r.stdout)}`)
    assert.ok(lines.includes('30 100'), `the pty has ctr's window size: ${JSON.stringify(r.stdout)}`)

    const task = uniqueName('ttyexec')
    assertCmd(await c.ctr(['run', '-d', ...c.runFlags(), IMAGE, task, ...SLEEPER]), 'ctr run -d')
    const ex = await onTerminal(c.shellCommand(['task', 'exec', '-t', '--exec-id', 'e1', task, 'sh', '-c', 'tty; sleep 1; stty size; exit 4']), 31, 101)
    assert.equal(ex.code, 4, `exec's exit status through the pty (output: ${ex.stdout} ${ex.stderr})`)
    assert.ok(terminalLines(ex.stdout).some((l) => /^\/dev\/pts\/\d+$/.test(l)), `exec's stdin is a pty: ${JSON.stringify(ex.stdout)}`)
    assert.ok(terminalLines(ex.stdout).includes('31 101'), `exec's pty has ctr's window size: ${JSON.stringify(ex.stdout)}`)
    assertCmd(await c.ctr(['task', 'kill', '-s', 'SIGKILL', task]), 'ctr task kill')
    await waitFor('the task to stop', async () => (await c.tasks()).get(task)?.status === 'STOPPED')
    assertCmd(await c.ctr(['task', 'delete', task]), 'ctr task delete')
    assertCmd(await c.ctr(['containers', 'delete', task]), 'ctr containers delete')
  })

  test('a detached task runs in ocirt; exec, ps, pause/resume, kill and delete', async () => {
    const id = uniqueName('task')
    assertCmd(await c.ctr(['run', '-d', ...c.runFlags(), IMAGE, id, ...SLEEPER]), 'ctr run -d')
    const task = (await c.tasks()).get(id)
    assert.equal(task?.status, 'RUNNING')
    await assertRunByOcirt(c.ocirtStateRoot(), id, task!.pid)
    assert.equal(seccompModeOf(task!.pid), EXPECTED_SECCOMP_MODE, 'the engine\'s seccomp setting reached the container (SECCOMP_UNCONFINED)')

    const ex = await c.ctr(['task', 'exec', '--exec-id', 'e1', id, 'sh', '-c', 'echo pid1=$(cat /proc/1/cmdline | tr "\\0" " "); exit 4'])
    assert.equal(ex.code, 4, `exec's exit status passed through (stderr: ${ex.stderr})`)
    assert.equal(ex.stdout, `pid1=${SLEEPER.join(' ')}\n`, 'exec runs in the container\'s pid namespace')
    const missing = await c.ctr(['task', 'exec', '--exec-id', 'e2', id, 'no-such-command'])
    assert.notEqual(missing.code, 0)
    assert.match(missing.stderr, /OCI runtime exec failed: .*no-such-command.*not found/, 'the shim reports ocirt\'s error line from its JSON log')

    const ps = assertCmd(await c.ctr(['task', 'ps', id]), 'ctr task ps').stdout
    assert.match(ps, new RegExp(`^${task!.pid}\\s`, 'm'), `task ps (ocirt ps --format json) lists the init: ${ps}`)

    assertCmd(await c.ctr(['task', 'pause', id]), 'ctr task pause')
    assert.equal((await c.tasks()).get(id)?.status, 'PAUSED')
    assert.equal(cgroupFileOf(task!.pid, 'freezer', 'freezer.state'), 'FROZEN')
    assert.equal((await ocirt(['state', id], {root: c.ocirtStateRoot()})).json().status, 'paused')
    assertCmd(await c.ctr(['task', 'resume', id]), 'ctr task resume')
    assert.equal((await c.tasks()).get(id)?.status, 'RUNNING')
    assert.equal(cgroupFileOf(task!.pid, 'freezer', 'freezer.state'), 'THAWED')

    assertCmd(await c.ctr(['task', 'kill', '-s', 'SIGTERM', id]), 'ctr task kill')
    await waitFor('the task to stop', async () => (await c.tasks()).get(id)?.status === 'STOPPED')
    const del = assertCmd(await c.ctr(['task', 'delete', id]), 'ctr task delete')
    assert.match(del.stderr, /exit with non-zero exit code 3\b/, 'the trap\'s exit status, as the shim saw it')
    assertCmd(await c.ctr(['containers', 'delete', id]), 'ctr containers delete')
    assert.ok(!fs.existsSync(path.join(c.ocirtStateRoot(), id)), 'ocirt\'s state of the container is gone')
    assert.ok(!fs.existsSync(`/sys/fs/cgroup/memory/${c.namespace}/${id}`), 'the container\'s cgroup is gone')
  })

  test('task checkpoint and a container checkpoint restored live go through ocirt and CRIU: the process goes on', {skip: check('criu') ?? false}, async () => {
    const id = uniqueName('ckpt')
    assertCmd(await c.ctr(['run', '-d', ...c.runFlags(), IMAGE, id, 'sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.05; done']), 'ctr run -d')
    let n = 0
    const count = async () => Number(assertCmd(await c.ctr(['task', 'exec', '--exec-id', `cat${++n}`, id, 'cat', '/tmp/count']), 'task exec cat').stdout)
    await waitFor('the counter to pass 40', async () => (await count()) > 40, 20_000)
    // `ocirt checkpoint --image-path D --work-path D ID`: the task keeps running
    assertCmd(await c.ctr(['task', 'checkpoint', '--image-path', path.join(c.dir, 'ckpt-img'), '--work-path', path.join(c.dir, 'ckpt-work'), id]), 'ctr task checkpoint')
    assert.ok(fs.readdirSync(path.join(c.dir, 'ckpt-img')).some((f) => f.startsWith('pages-')), 'CRIU wrote the memory pages')
    assert.equal((await c.tasks()).get(id)?.status, 'RUNNING')
    // into the content store, then the container and task are gone and come back from it (ocirt restore)
    assertCmd(await c.ctr(['containers', 'checkpoint', '--task', '--rw', id, `localhost/${id}:ckpt`]), 'ctr containers checkpoint')
    assertCmd(await c.ctr(['task', 'kill', '-s', 'SIGKILL', id]), 'ctr task kill')
    await waitFor('the task to stop', async () => (await c.tasks()).get(id)?.status === 'STOPPED')
    await c.ctr(['task', 'delete', id])
    assertCmd(await c.ctr(['containers', 'delete', id]), 'ctr containers delete')
    assertCmd(await c.ctr(['containers', 'restore', '--live', '--rw', id, `localhost/${id}:ckpt`]), 'ctr containers restore --live')
    const task = (await c.tasks()).get(id)
    assert.equal(task?.status, 'RUNNING')
    await assertRunByOcirt(c.ocirtStateRoot(), id, task!.pid)
    // a fresh start would need 2 s to count past 40; the restored process reads above 40 at once
    const after = await count()
    assert.ok(after > 40, `the counter goes on from above 40, not from 1: ${after}`)
    assertCmd(await c.ctr(['task', 'kill', '-s', 'SIGKILL', id]), 'ctr task kill')
    await waitFor('the restored task to stop', async () => (await c.tasks()).get(id)?.status === 'STOPPED')
    await c.ctr(['task', 'delete', id])
    assertCmd(await c.ctr(['containers', 'delete', id]), 'ctr containers delete')
    await c.ctr(['images', 'rm', `localhost/${id}:ckpt`])
  })

  test('task checkpoint --exit: the task stops, ocirt keeps it stopped, and the shim\'s delete removes it', {skip: check('criu') ?? false}, async () => {
    const id = uniqueName('ckexit')
    assertCmd(await c.ctr(['run', '-d', ...c.runFlags(), IMAGE, id, ...SLEEPER]), 'ctr run -d')
    const pid = (await c.tasks()).get(id)!.pid
    // without --leave-running: CRIU kills the task; ocirt leaves a stopped container where runc removes it
    assertCmd(await c.ctr(['task', 'checkpoint', '--exit', '--image-path', path.join(c.dir, 'ckexit-img'), '--work-path', path.join(c.dir, 'ckexit-work'), id]), 'ctr task checkpoint --exit')
    await waitFor('the task to stop', async () => (await c.tasks()).get(id)?.status === 'STOPPED')
    const st = await ocirt(['state', id], {root: c.ocirtStateRoot()})
    assert.equal(st.code, 0, st.stderr)
    assert.equal(JSON.parse(st.stdout).status, 'stopped')
    assert.ok(!fs.existsSync(`/proc/${pid}`) || fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '), 'the process is gone')
    assertCmd(await c.ctr(['task', 'delete', id]), 'ctr task delete')
    assert.ok(!fs.existsSync(path.join(c.ocirtStateRoot(), id)), 'ocirt\'s state of the container is gone')
    assert.ok(!fs.existsSync(`/sys/fs/cgroup/memory/${c.namespace}/${id}`), 'the container\'s cgroup is gone')
    assertCmd(await c.ctr(['containers', 'delete', id]), 'ctr containers delete')
  })
})
