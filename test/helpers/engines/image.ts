// The test image, built offline from the test rootfs (busybox + probe): a plain tarball for `podman import` and
// `docker import`, and an OCI image archive for `ctr images import`.
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {PROBE_ROOTFS} from '../paths'

/** The test rootfs (busybox + probe) as a plain tarball in DIR, for `podman import` and `docker import`. */
export function rootfsTarball(dir: string): string {
  const file = path.join(dir, 'rootfs.tar')
  const r = spawnSync('tar', ['-C', PROBE_ROOTFS, '--numeric-owner', '-cf', file, '.'], {encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`tar of ${PROBE_ROOTFS} failed: ${r.stderr}`)
  return file
}

function writeBlob(blobs: string, data: Buffer): {digest: string; size: number} {
  const hex = createHash('sha256').update(data).digest('hex')
  fs.writeFileSync(path.join(blobs, hex), data)
  return {digest: `sha256:${hex}`, size: data.length}
}

/**
 * The test rootfs as an OCI image archive (image layout in a tar, one uncompressed layer) named REF, for
 * `ctr images import`: containerd takes the name from the index's io.containerd.image.name annotation.
 */
export function ociArchive(dir: string, ref: string): string {
  const layout = path.join(dir, 'oci-layout')
  const blobs = path.join(layout, 'blobs', 'sha256')
  fs.mkdirSync(blobs, {recursive: true})
  const layer = writeBlob(blobs, fs.readFileSync(rootfsTarball(dir)))
  const config = writeBlob(blobs, Buffer.from(JSON.stringify({
    architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
    os: 'linux',
    config: {Cmd: ['/bin/sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']},
    rootfs: {type: 'layers', diff_ids: [layer.digest]},
  })))
  const manifest = writeBlob(blobs, Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {mediaType: 'application/vnd.oci.image.config.v1+json', ...config},
    layers: [{mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer}],
  })))
  fs.writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}))
  fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      ...manifest,
      annotations: {'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': ref},
    }],
  }))
  const file = path.join(dir, 'image.oci.tar')
  const r = spawnSync('tar', ['-C', layout, '-cf', file, '.'], {encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`tar of ${layout} failed: ${r.stderr}`)
  fs.rmSync(layout, {recursive: true, force: true})
  return file
}
