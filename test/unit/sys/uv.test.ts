// sys/uv.ts reaches Node's internal process/pipe/stream bindings: these tests pin what ocirt relies on (spawn
// with fds and a socketpair, ordered writes, reads, EOF, exit status and signal, a fifo read as it is written),
// so a Node upgrade that changes the bindings fails here rather than in a container start.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {execFileSync, spawnSync} from 'node:child_process'
import {uvBindings, uvSpawn, UvPipe} from '../../../src/core/sys/uv'

const uv = uvBindings()

test('the bindings are usable on this Node, without a warning', () => {
  assert.ok(uv, `process_wrap/pipe_wrap/stream_wrap usable on ${process.version}`)
  const r = spawnSync(process.execPath, ['--pending-deprecation', '-e', `if (!require(${JSON.stringify(require.resolve('../../../src/core/sys/uv'))}).uvBindings()) process.exit(3)`], {encoding: 'utf8'})
  assert.equal(r.status, 0)
  assert.equal(r.stderr, '', 'no DEP0111 warning under --pending-deprecation')
})

test('spawn: the socketpair carries writes in order both ways, then EOF and the exit status', async () => {
  // the child echoes what it reads on fd 3 back to fd 3, then exits 7
  const child = uvSpawn(uv!, '/bin/sh', ['-c', 'cat <&3 >&3; exit 7'], ['ignore', 'ignore', 2, 'pipe'])
  assert.notEqual(typeof child, 'number')
  if (typeof child === 'number') return
  assert.ok(child.pid > 0)
  const chunks: Buffer[] = []
  const ended = new Promise<number>((resolve) => child.channel.read((c) => chunks.push(c), resolve))
  for (let i = 0; i < 50; i++) assert.equal(child.channel.write(Buffer.from(`${i},`)), 0)
  // shutting our side down is what makes cat see EOF: close the handle only after the echo came back
  const want = Array.from({length: 50}, (_, i) => `${i},`).join('')
  for (let i = 0; i < 200 && Buffer.concat(chunks).toString() !== want; i++) await new Promise((r) => setTimeout(r, 10))
  assert.equal(Buffer.concat(chunks).toString(), want)
  child.channel.close()
  assert.deepEqual(await child.exited, {code: 7, signal: null})
  assert.ok(child.hasExited())
  void ended
})

test('spawn: a signal shows as the exit signal; a missing file as a negative errno', async () => {
  const child = uvSpawn(uv!, '/bin/sh', ['-c', 'kill -TERM $$'], ['ignore', 'ignore', 'ignore', 'pipe'])
  if (typeof child === 'number') return assert.fail(`spawn failed: ${child}`)
  child.channel.read(() => undefined, () => undefined)
  assert.deepEqual(await child.exited, {code: null, signal: 'SIGTERM'})
  assert.equal(uvSpawn(uv!, '/nonexistent/ocirt-uv-test', [], ['ignore', 'ignore', 'ignore', 'pipe']), -os.constants.errno.ENOENT)
})

test('a fifo opened non-blocking before its writer is read as written, then EOF when the writer closes', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-speed-uv-'))
  t.after(() => fs.rmSync(dir, {recursive: true, force: true}))
  const fifo = path.join(dir, 'fifo')
  execFileSync('mkfifo', [fifo])
  const fd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)
  const pipe = new UvPipe(uv!)
  assert.equal(pipe.open(fd), 0)
  let got = ''
  const end = new Promise<number>((resolve) => pipe.read((c) => (got += c.toString()), resolve))
  // no writer yet: nothing arrives (no early EOF)
  await new Promise((r) => setTimeout(r, 50))
  assert.equal(got, '')
  // like the container's init: one open for writing, a byte, a pause, a byte, then the close
  const child = uvSpawn(uv!, '/bin/sh', ['-c', `exec 4>${fifo}; printf 0 >&4; sleep 0.05; printf 1 >&4; exec 4>&-; sleep 0.05`], ['ignore', 'ignore', 2, 'pipe'])
  if (typeof child === 'number') return assert.fail(`spawn failed: ${child}`)
  child.channel.read(() => undefined, () => undefined)
  assert.equal(await end, -4095, 'EOF once the writer closed')
  assert.equal(got, '01')
  await child.exited
})
