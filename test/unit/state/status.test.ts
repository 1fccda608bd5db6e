import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {spawn} from 'node:child_process'
import {allowed, ALLOWED, deriveStatus, readProcStat} from '../../../src/core/state/status'
import type {ContainerFacts} from '../../../src/core/state/facts'

function facts(pid: number, startTime: string): ContainerFacts {
  return {ociVersion: '1.0.2', id: 'x', pid, pidStartTime: startTime, bundle: '/b', rootfs: '/b/r', created: '', owner: 'root',
    annotations: {}, cgroup: {version: 'v1', path: '/none', paths: {}}, namespaces: {}, rootless: false, terminal: false}
}

test('status is derived: alive + fifo = created, alive = running, reused pid or gone = stopped', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-status-'))
  const child = spawn('sleep', ['30'])
  t.after(() => {
    child.kill('SIGKILL')
    fs.rmSync(dir, {recursive: true, force: true})
  })
  const st = readProcStat(child.pid!)!
  const fifo = path.join(dir, 'exec.fifo')
  assert.equal(deriveStatus(facts(child.pid!, st.startTime), fifo), 'running')
  fs.writeFileSync(fifo, '')
  assert.equal(deriveStatus(facts(child.pid!, st.startTime), fifo), 'created')
  // same pid, other start time: a reused pid must not look like our container
  assert.equal(deriveStatus(facts(child.pid!, String(Number(st.startTime) - 1)), fifo), 'stopped')
  assert.equal(deriveStatus(facts(0, ''), fifo), 'stopped')
  child.kill('SIGKILL')
  await new Promise((r) => child.once('exit', r))
  assert.equal(deriveStatus(facts(child.pid!, st.startTime), fifo), 'stopped')
})

test('the operations table follows runc', () => {
  assert.ok(allowed('start', 'created'))
  assert.ok(!allowed('start', 'running'))
  assert.ok(allowed('delete', 'created') && allowed('delete', 'stopped') && !allowed('delete', 'running'))
  assert.ok(allowed('resume', 'paused') && !allowed('pause', 'paused'))
  assert.ok(!ALLOWED.exec.includes('paused'))
})

test('readProcStat copes with spaces and parentheses in the command name', () => {
  const st = readProcStat(process.pid)!
  assert.equal(typeof st.startTime, 'string')
  assert.match(st.startTime, /^\d+$/)
})
