// native/build/criu-gate.so, preloaded into a criu started ahead of time (a migration's lazy-pages daemon,
// src/migrate/agent/lazy-pages.ts): the process loads, then waits before main() until one 'g' comes on its gate fd;
// a gate that closes unopened ends it with status 111; what it runs inherits neither variable.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import {spawn} from 'node:child_process'
import type {Writable} from 'node:stream'
import {gateLibrary} from '../../src/core/criu/gate'
import {requires} from '../helpers/requires'

const GATE = gateLibrary()

function held(cmd: string, args: string[]) {
  const child = spawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe', 'ignore', 'pipe'],
    env: {...process.env, LD_PRELOAD: GATE!, OCIRT_CRIU_GATE_FD: '4'},
  })
  let out = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {child, exited, out: () => out, gate: child.stdio[4] as Writable}
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

test('criu waits at the gate, loaded, and runs once it opens', async (t) => {
  if (!requires(t, 'criu')) return
  assert.ok(GATE, 'native/build/criu-gate.so is built by npm run build')
  const p = held('criu', ['--version'])
  t.after(() => p.child.kill('SIGKILL'))
  await pause(300)
  assert.equal(p.child.exitCode, null, 'still waiting')
  assert.equal(p.out(), '', "nothing of criu's main() ran")
  const maps = fs.readFileSync(`/proc/${p.child.pid}/maps`, 'utf8')
  assert.match(maps, /libgnutls|libprotobuf-c/, "criu's libraries are loaded already")
  p.gate.end('g')
  assert.equal(await p.exited, 0)
  assert.match(p.out(), /Version: \d+\.\d+/)
})

test('a gate closed unopened, or with anything but g, ends the process with 111 before main()', async () => {
  assert.ok(GATE)
  for (const close of [(g: Writable) => g.end(), (g: Writable) => g.end('x')]) {
    const p = held('sh', ['-c', 'echo ran'])
    close(p.gate)
    assert.equal(await p.exited, 111)
    assert.equal(p.out(), '')
  }
})

test('what the gated process runs inherits neither LD_PRELOAD nor the gate fd variable, bash (own unsetenv) included', async () => {
  assert.ok(GATE)
  // a criu wrapper may be a script; bash brings its own unsetenv, which does nothing before its main()
  for (const shell of ['sh', 'bash']) {
    const p = held(shell, ['-c', 'echo "[${LD_PRELOAD-unset}] [${OCIRT_CRIU_GATE_FD-unset}]"; env | grep -c -e LD_PRELOAD -e OCIRT_CRIU_GATE; sh -c \'echo child [${LD_PRELOAD-unset}]\''])
    p.gate.end('g')
    assert.equal(await p.exited, 0, `${shell}: ${p.out()}`)
    assert.equal(p.out(), '[unset] [unset]\n0\nchild [unset]\n', shell)
  }
})
