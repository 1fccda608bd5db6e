// Finds the C helper. It is built to native/build/ocirt-init in the package; OCIRT_INIT overrides the path.
// The helper re-executes itself from a sealed memfd, so the file found here is never what runs in a container.
import * as fs from 'node:fs'
import * as path from 'node:path'
import {OcirtError} from '../errors'

let cached: string | undefined

export function initBinary(): string {
  if (cached) return cached
  const override = process.env.OCIRT_INIT
  if (override) return (cached = override)
  // only the package's own two layouts: dist/ocirt-main.js (bundle) and dist/src/core/init/*.js (tsc output);
  // never a search further up, where a binary planted by someone else could be found and run as root
  for (const up of ['..', '../../../..']) {
    const candidate = path.resolve(__dirname, up, 'native', 'build', 'ocirt-init')
    if (fs.existsSync(candidate)) return (cached = candidate)
  }
  throw new OcirtError('the init helper native/build/ocirt-init is missing: run `npm run build:native`', {step: 'find init helper'})
}
