import {test} from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {ATTR, PLAN_MODE, MOUNT_MK} from '../../../src/core/init/codec'
import {FRAME, LOG_LEVEL} from '../../../src/core/init/protocol'
import {REPO} from '../../helpers/paths'

function cEnum(file: string, prefix: string): Record<string, number> {
  const text = fs.readFileSync(path.join(REPO, 'native', file), 'utf8')
  const out: Record<string, number> = {}
  for (const m of text.matchAll(new RegExp(`\\b${prefix}([A-Z0-9_]+)\\s*=\\s*(\\d+)`, 'g'))) out[m[1]] = Number(m[2])
  return out
}

test('frame ids in native/proto.h equal FRAME in protocol.ts', () => {
  assert.deepEqual(cEnum('proto.h', 'FRAME_'), {...FRAME})
  assert.deepEqual(cEnum('proto.h', 'LOG_LEVEL_'), {...LOG_LEVEL})
})

test('every attribute id in codec.ts has the same number in native/plan.h', () => {
  const c = cEnum('plan.h', 'ATTR_')
  for (const [name, id] of Object.entries(ATTR)) assert.equal(c[name], id, `ATTR_${name}`)
  assert.deepEqual(cEnum('plan.h', 'PLAN_MODE_'), {...PLAN_MODE})
  const text = fs.readFileSync(path.join(REPO, 'native', 'plan.h'), 'utf8')
  assert.match(text, new RegExp(`MOUNT_MK_DIR ${MOUNT_MK.DIR}u`))
  assert.match(text, new RegExp(`MOUNT_MK_FILE ${MOUNT_MK.FILE}u`))
})
