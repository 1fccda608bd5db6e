// CRIU's RPC messages as ocirt writes and reads them (src/core/criu/rpc.ts), against protobuf's wire format worked
// out by hand from images/rpc.proto, and criu's command line turned into a request.
import {it} from 'node:test'
import assert from 'node:assert/strict'
import {decodeResponse, encodeRequest, requestFromArgv, varint, REQ_DUMP, REQ_VERSION} from '../../../src/core/criu/rpc'

it('varints: small, multi-byte, and a negative int32 sign-extended to ten bytes', () => {
  assert.deepEqual([...varint(0)], [0])
  assert.deepEqual([...varint(150)], [0x96, 0x01])
  assert.deepEqual([...varint(-1)], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
})

it('a request: its type, its options (fields 1, 2, 9, 17, 51, 64) and keep_open', () => {
  assert.deepEqual([...encodeRequest({type: REQ_VERSION, keepOpen: true})], [0x08, 10, 0x20, 1])
  const req = encodeRequest({type: REQ_DUMP, opts: {imagesDirFd: 21, workDirFd: 22, pid: 300, logLevel: 4, networkLock: 3, configFile: '/c'}})
  const opts = [0x08, 21, 0x10, 0xac, 0x02, 0x48, 4, 0x88, 0x01, 22, 0x9a, 0x03, 2, 0x2f, 0x63, 0x80, 0x04, 3]
  assert.deepEqual([...req], [0x08, 1, 0x12, opts.length, ...opts])
})

it('a response: type, success, errno, message, the version; other fields skipped', () => {
  const version = [0x08, 4, 0x10, 1, 0x1a, 1, 0x30, 0x20, 1]
  const buf = Buffer.from([
    0x08, 10, 0x10, 1,
    0x38, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, // cr_errno -2
    0x4a, 2, 0x68, 0x69, // cr_errmsg "hi"
    0x22, 2, 0x08, 0x2a, // restore { pid 42 }: not read
    0x52, version.length, ...version, // version { 4, 1, gitid "0", sublevel 1 }
    0x59, 0, 0, 0, 0, 0, 0, 0, 0, // an unknown 64-bit field
    0x65, 0, 0, 0, 0, // an unknown 32-bit field
  ])
  assert.deepEqual(decodeResponse(buf), {type: 10, success: true, crErrno: -2, crErrmsg: 'hi', version: {major: 4, minor: 1, sublevel: 1}})
  assert.throws(() => decodeResponse(Buffer.from([0x08, 0x80])), /truncated varint/)
  assert.throws(() => decodeResponse(Buffer.from([0x4a, 5, 0x68])), /truncated field/)
})

it('criu dump\'s command line as a request: pid, directories and level apart, the rest as configuration lines', () => {
  const r = requestFromArgv(['dump', '-t', '77', '-D', '/i', '-W', '/w', '--log-file', 'dump.log', '-v4', '--manage-cgroups=soft',
    '--leave-running', '--network-lock', 'skip', '--ext-mount-map', '/a:/b', '--external', 'file[17:3]', '--status-fd', '3'])
  assert.deepEqual(r, {
    type: REQ_DUMP, pid: 77, logLevel: 4, networkLock: 3, leaveRunning: true, imagesDir: '/i', workDir: '/w',
    config: 'log-file dump.log\nmanage-cgroups=soft\nleave-running\next-mount-map /a:/b\nexternal file[17:3]\nstatus-fd 3\n',
  })
  const plain = requestFromArgv(['dump', '-t', '77', '-D', '/i'])
  assert.equal(plain?.workDir, '/i', 'the work dir defaults to the images dir')
  assert.equal(plain?.leaveRunning, undefined)
  assert.deepEqual([...encodeRequest({type: REQ_DUMP, opts: {imagesDirFd: 1, leaveRunning: true}})], [0x08, 1, 0x12, 4, 0x08, 1, 0x18, 1], 'leave_running is field 3')
})

it('what a configuration file cannot carry leaves the command line to a spawned criu', () => {
  for (const argv of [
    ['restore', '-D', '/i'],
    ['dump', '-D', '/i'], // no pid: the service would dump its caller
    ['dump', '-t', '7'], // no images
    ['dump', '-t', '7', '-D', '/my images'],
    ['dump', '-t', '7', '-D', '/i', '--root', 'a"b'],
    ['dump', '-t', '7', '-D', '/i', '-x'],
    ['dump', '-t', '7', '-D', '/i', '--network-lock', 'bogus'],
    ['dump', '-t', '7', '-D', '/i', '--config', '/etc/criu.conf'],
    ['dump', '-t', 'x', '-D', '/i'],
  ]) assert.equal(requestFromArgv(argv), undefined, argv.join(' '))
})
