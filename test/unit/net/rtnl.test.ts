// rtnl.ts: the bytes of the requests netDevices sends and the parsing of the kernel's answers.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {addAddressRequest, IFA, isKept, moveLinkRequest, parseAddress, parseLink, setUpRequest, splitReplies} from '../../../src/core/net/rtnl'

test('the move request: RTM_NEWLINK on the index, with the namespace fd and the new name', () => {
  const m = moveLinkRequest(7, 42, 9, 'ctr0')
  assert.equal(m.readUInt32LE(0), m.length)
  assert.deepEqual([m.readUInt16LE(4), m.readUInt16LE(6), m.readUInt32LE(8)], [16, 0x5, 7])
  assert.equal(m.readInt32LE(16 + 4), 42, 'ifi_index')
  // IFLA_NET_NS_FD (28) = 9, then IFLA_IFNAME (3) = "ctr0\0" padded to 4
  assert.deepEqual([m.readUInt16LE(32), m.readUInt16LE(34), m.readUInt32LE(36)], [8, 28, 9])
  assert.deepEqual([m.readUInt16LE(40), m.readUInt16LE(42), m.subarray(44, 49).toString()], [9, 3, 'ctr0\0'])
  assert.equal(m.length, 52)
  const up = setUpRequest(8, 42)
  assert.deepEqual([up.readUInt32LE(16 + 8), up.readUInt32LE(16 + 12)], [1, 1], 'IFF_UP in flags and change')
})

test('replies split and parse; addresses are re-added with the attributes that name them only', () => {
  const link = Buffer.alloc(16 + 12)
  link.writeInt32LE(5, 4)
  link.writeUInt32LE(1, 8)
  link.writeUInt16LE(9, 16)
  link.writeUInt16LE(3, 18)
  link.write('eth0\0', 20)
  assert.deepEqual(parseLink(link), {index: 5, flags: 1, name: 'eth0'})

  const addr = Buffer.alloc(8 + 8 + 8 + 8)
  addr.writeUInt8(2, 0) // AF_INET
  addr.writeUInt8(24, 1)
  addr.writeUInt8(0x80, 2) // IFA_F_PERMANENT
  addr.writeUInt32LE(5, 4)
  addr.writeUInt16LE(8, 8)
  addr.writeUInt16LE(IFA.LOCAL, 10)
  Buffer.from([10, 0, 0, 2]).copy(addr, 12)
  addr.writeUInt16LE(8, 16)
  addr.writeUInt16LE(IFA.ADDRESS, 18)
  Buffer.from([10, 0, 0, 2]).copy(addr, 20)
  addr.writeUInt16LE(8, 24)
  addr.writeUInt16LE(3, 26) // IFA_LABEL: not sent again
  addr.write('old\0', 28)
  const a = parseAddress(addr)
  assert.deepEqual([a.family, a.prefixlen, a.scope, a.index, a.flags], [2, 24, 0, 5, 0x80])
  assert.ok(isKept(a))
  assert.ok(!isKept({...a, scope: 254}), 'host scope is not kept')
  assert.ok(!isKept({...a, flags: 0}), 'a dynamic address is not kept')
  const req = addAddressRequest(3, a, 11)
  assert.equal(req.readUInt32LE(16 + 4), 11, 'the new index')
  assert.equal(req.length, 16 + 8 + 8 + 8, 'IFA_ADDRESS and IFA_LOCAL, no label')

  const two = Buffer.concat([req, setUpRequest(4, 11)])
  assert.deepEqual(splitReplies(two).map((r) => [r.type, r.seq]), [[20, 3], [16, 4]])
})
