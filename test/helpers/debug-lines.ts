// ocirt's debug lines while an in-process call runs: they go to a --log file of the test's (and to stderr), which
// the test reads back to tell which way the code went (a held criu let go or spawned, a swrk used or not).
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {configureLog} from '../../src/core/log'

export async function debugLines(fn: () => Promise<unknown>): Promise<string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocirt-debug-log-'))
  const file = path.join(dir, 'log')
  configureLog({file, format: 'text', debug: true})
  try {
    await fn()
  } finally {
    configureLog({format: 'text', debug: false})
  }
  const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : []
  fs.rmSync(dir, {recursive: true, force: true})
  return lines
}
