// The criu client's pure parts: version parsing, the 3.x-on-new-kernels refusal, the log tail of a failure,
// and wait statuses of a restored init.
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {criuUnusable, kernelVersion, logTail, networkLockFor, parseCriuVersion} from '../../../src/core/criu/client'
import {decodeWaitStatus} from '../../../src/core/criu/wait'

describe('criu version', () => {
  it('parses `criu --version`', () => {
    assert.deepEqual(parseCriuVersion('Version: 4.1.1\n'), {major: 4, minor: 1, patch: 1, text: '4.1.1'})
    assert.deepEqual(parseCriuVersion('Version: 3.17\nGitID: v3.17\n'), {major: 3, minor: 17, patch: 0, text: '3.17'})
    assert.equal(parseCriuVersion('criu: command not found'), undefined)
    assert.deepEqual(kernelVersion('6.18.44-fc-v782'), [6, 18])
  })

  it('refuses 3.x on kernels from 6.13, pointing at scripts/install-criu.sh', () => {
    const v3 = parseCriuVersion('Version: 3.17.1')!
    assert.match(criuUnusable(v3, '6.18.44-fc-v782', '/usr/sbin/criu')!, /criu 3\.17\.1 \(\/usr\/sbin\/criu\) cannot checkpoint on kernel 6\.18\.44.*scripts\/install-criu\.sh/)
    assert.equal(criuUnusable(v3, '6.12.9', 'criu'), undefined)
    assert.equal(criuUnusable(parseCriuVersion('Version: 4.1.1')!, '6.18.0', 'criu'), undefined)
    assert.match(criuUnusable(parseCriuVersion('Version: 2.12')!, '5.10.0', 'criu')!, /too old/)
    assert.match(criuUnusable(parseCriuVersion('Version: 3.14')!, '5.10.0', 'criu')!, /needs CRIU 3\.15 or later/)
    assert.equal(criuUnusable(parseCriuVersion('Version: 3.15')!, '5.10.0', 'criu'), undefined)
  })

  it('--network-lock skip only where CRIU knows it (3.19 and later); other methods pass through', () => {
    const v = (t: string) => parseCriuVersion(`Version: ${t}`)!
    assert.equal(networkLockFor(v('3.17.1'), 'skip'), undefined, "3.17 (Debian 12) would fail on 'skip': its default lock instead")
    assert.equal(networkLockFor(v('3.19'), 'skip'), 'skip')
    assert.equal(networkLockFor(v('4.1.1'), 'skip'), 'skip')
    assert.equal(networkLockFor(v('3.17.1'), 'iptables'), 'iptables')
    assert.equal(networkLockFor(v('4.1.1'), undefined), undefined)
  })
})

describe('log tail', () => {
  it('quotes the errors and the last lines, without the harmless RLIMIT_NOFILE line, and names the log', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-criu-log-'))
    const log = path.join(dir, 'dump.log')
    fs.writeFileSync(log, [
      '(00.000118) Version: 4.1.1 (gitid 0)',
      "(00.260500) Error (criu/util.c:1533): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted",
      '(00.333785) Error (criu/files-reg.c:1790): Can\'t lookup mount=23 for fd=0 path=/dev/null',
      '(00.333817) Error (criu/cr-dump.c:1681): Dump files (pid: 7494) failed with -1',
      '(00.428940) Error (criu/cr-dump.c:2111): Dumping FAILED.',
      '',
    ].join('\n'))
    const tail = logTail(log, 2)
    assert.ok(!tail.includes('RLIMIT_NOFILE'))
    assert.match(tail, /Can't lookup mount=23 for fd=0/)
    assert.match(tail, /Dumping FAILED\./)
    assert.ok(tail.endsWith(`(criu log: ${log})`))
    assert.match(logTail(path.join(dir, 'missing.log')), /no criu log at/)
    fs.rmSync(dir, {recursive: true})
  })
})

describe('wait status', () => {
  it('exit codes and 128 + signal', () => {
    assert.deepEqual(decodeWaitStatus(7 << 8), {code: 7})
    assert.deepEqual(decodeWaitStatus(15), {code: 143, signal: 15})
    assert.deepEqual(decodeWaitStatus(9 | 0x80), {code: 137, signal: 9})
  })
})
