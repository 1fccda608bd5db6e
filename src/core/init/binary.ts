// Finds the C helper. It is built to native/build/ocirt-init in the package; OCIRT_INIT overrides the path.
// The helper re-executes itself from a sealed memfd, so the file found here is never what runs in a container.
import {OcirtError} from '../errors'
import {nativeFile} from '../util/native-file'

let cached: string | undefined

export function initBinary(): string {
  if (cached) return cached
  const override = process.env.OCIRT_INIT
  if (override) return (cached = override)
  const found = nativeFile('ocirt-init')
  if (found) return (cached = found)
  throw new OcirtError('the init helper native/build/ocirt-init is missing: run `npm run build:native`', {step: 'find init helper'})
}
