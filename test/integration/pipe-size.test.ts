// native/build/ocirt-pipe-size, which a migration's unpacker starts so that sshd hands it the stream through a 1 MiB
// pipe instead of a 64 KiB one (src/migrate/agent/unpack.ts): it resizes the pipe on its stdin, which is the reader's
// pipe too, and says so by its exit status.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {spawn, spawnSync} from 'node:child_process'
import {REPO} from '../helpers/paths'
import {makePipe} from '../../src/core/sys/pipe'
import {loadLibc} from '../../src/core/sys/libc'

const HELPER = path.join(REPO, 'native', 'build', 'ocirt-pipe-size')
const OCIRT = path.join(REPO, 'bin', 'ocirt')
const F_GETPIPE_SZ = 1032

function pipeSize(fd: number): number {
  const fcntl = loadLibc().lib.func('int fcntl(int fd, int cmd, int arg)') as unknown as (fd: number, cmd: number, arg: number) => number
  return fcntl(fd, F_GETPIPE_SZ, 0)
}

test('resizes the pipe it has as stdin (the pipe itself, as its reader sees it); exit 1 on what is no pipe', (t) => {
  assert.ok(fs.existsSync(HELPER), `${HELPER} is built by npm run build`)
  const [r, w] = makePipe()
  t.after(() => [r, w].forEach((fd) => fs.closeSync(fd)))
  assert.equal(pipeSize(r), 65536, "a new pipe's size")
  const ok = spawnSync(HELPER, ['1048576'], {stdio: [r, 'ignore', 'pipe'], encoding: 'utf8'})
  assert.equal(ok.status, 0, ok.stderr)
  assert.equal(pipeSize(r), 1048576, 'the same pipe, seen through our own descriptor')
  const none = spawnSync(HELPER, ['1048576'], {stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8'})
  assert.equal(none.status, 1, '/dev/null is no pipe')
  const bad = spawnSync(HELPER, ['lots'], {stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8'})
  assert.equal(bad.status, 2)
  assert.match(bad.stderr, /bad size lots/)
})

test('the unpacker grows its stdin pipe, keeps reading it without blocking, and unpacks what comes through it', async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-pipe-size-'))
  t.after(() => fs.rmSync(tmp, {recursive: true, force: true}))
  const [r, w] = makePipe()
  const into = path.join(tmp, 'into')
  const child = spawn(OCIRT, ['--root', path.join(tmp, 'root'), '--debug', 'migrate-agent', '--unpack', into], {stdio: [r, 'pipe', 'pipe']})
  fs.closeSync(r)
  let wOpen = true
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    if (wOpen) fs.closeSync(w)
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (b: Buffer) => (stdout += b))
  child.stderr!.on('data', (b: Buffer) => (stderr += b))
  // the helper has run: the unpacker's stdin is still non-blocking (handing the helper the same open file would
  // have made it blocking, and the unpacker's event loop would stall in read(2) whenever the pipe ran dry)
  const deadline = Date.now() + 20_000
  while (!/stdin pipe now holds/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  assert.match(stderr, /stdin pipe now holds 1048576 bytes/)
  const flags = Number.parseInt(/^flags:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${child.pid}/fdinfo/0`, 'utf8'))![1], 8)
  assert.ok(flags & fs.constants.O_NONBLOCK, `the unpacker's stdin is non-blocking (flags ${flags.toString(8)})`)
  assert.equal(pipeSize(w), 1048576)
  // a tar of one file, through the pipe, then the end of the stream
  const src = path.join(tmp, 'src')
  fs.mkdirSync(src)
  fs.writeFileSync(path.join(src, 'hello'), 'world\n')
  const tar = spawnSync('tar', ['-C', src, '-cf', '-', 'hello'])
  assert.equal(tar.status, 0)
  fs.writeSync(w, tar.stdout)
  fs.closeSync(w)
  wOpen = false
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  assert.equal(code, 0, stderr)
  assert.equal(fs.readFileSync(path.join(into, 'hello'), 'utf8'), 'world\n')
  assert.match(stdout, /"entries":1/)
})
