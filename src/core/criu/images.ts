// What ocirt keeps beside CRIU's images, so that a restore, on this host or another, knows what the dump
// declared: ocirt-checkpoint.json (descriptors, external mount ids, the container's config) and runc's
// descriptors.json (the init's fd 0-2 links). Also the /proc reads a dump needs (fds, masked files).
import * as fs from 'node:fs'
import * as path from 'node:path'
import {InvalidInput, type ErrorContext} from '../errors'
import type {Spec} from '../spec/types'
import {writeFileAtomic} from '../state/store'
import {classifyFds, fdinfoFlags, fdinfoMntId, mountIds, type Descriptor, type FdInfo} from './plan'

export const CHECKPOINT_INFO = 'ocirt-checkpoint.json'
export const RUNC_DESCRIPTORS = 'descriptors.json'
const INFO_VERSION = 1

export interface CheckpointInfo {
  version: number
  /** the checkpointed container: for messages, and to find the images of a migration */
  id: string
  created: string
  criu: string
  bundle: string
  rootfs: string
  cgroupPath: string
  /** the init's open fds as the dump saw them */
  descriptors: Descriptor[]
  /** the ids CRIU stored for external mounts: restore maps each back to a host path */
  extMountKeys: string[]
  /** the container's own (new) network namespace was dumped as external (a migration's: the target gives one) */
  externalNetns?: boolean
  /** the config.json the container ran with */
  spec: Spec
}

export function writeCheckpointInfo(imageDir: string, info: Omit<CheckpointInfo, 'version'>): void {
  writeFileAtomic(path.join(imageDir, CHECKPOINT_INFO), JSON.stringify({version: INFO_VERSION, ...info}, null, 1))
  const stdio = [0, 1, 2].map((fd) => info.descriptors.find((d) => d.fd === fd)?.link ?? '/dev/null')
  writeFileAtomic(path.join(imageDir, RUNC_DESCRIPTORS), JSON.stringify(stdio))
}

/** The info of a checkpoint, refusing a directory that holds no CRIU images at all. */
export function readCheckpointInfo(imageDir: string, ctx: ErrorContext): CheckpointInfo {
  if (!fs.existsSync(path.join(imageDir, 'inventory.img'))) {
    const why = fs.existsSync(imageDir) ? 'holds no checkpoint (no inventory.img)' : 'does not exist'
    throw new InvalidInput(`image path ${imageDir} ${why}`, {...ctx, step: 'read checkpoint'})
  }
  let text: string
  try {
    text = fs.readFileSync(path.join(imageDir, CHECKPOINT_INFO), 'utf8')
  } catch {
    throw new InvalidInput(`image path ${imageDir} was not written by \`ocirt checkpoint\` (no ${CHECKPOINT_INFO})`, {...ctx, step: 'read checkpoint'})
  }
  const info = JSON.parse(text) as CheckpointInfo
  if (info.version !== INFO_VERSION) {
    throw new InvalidInput(`${CHECKPOINT_INFO} has version ${info.version}; this ocirt reads version ${INFO_VERSION}`, {...ctx, step: 'read checkpoint'})
  }
  return info
}

/** The open fds of `pid`, classified against the mounts of its mount namespace. */
export function readDescriptors(pid: number): Descriptor[] {
  const fds: FdInfo[] = []
  for (const name of fs.readdirSync(`/proc/${pid}/fd`)) {
    const fd = Number(name)
    try {
      const link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`)
      const st = fs.statSync(`/proc/${pid}/fd/${fd}`)
      const fdinfo = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8')
      fds.push({fd, link, mntId: fdinfoMntId(fdinfo), ino: st.ino, dev: st.dev, rdev: st.rdev, isCharDevice: st.isCharacterDevice(), flags: fdinfoFlags(fdinfo)})
    } catch {
      // closed meanwhile (CRIU freezes the tree later; a closing fd is not dumped either)
    }
  }
  const ids = mountIds(fs.readFileSync(`/proc/${pid}/mountinfo`, 'utf8'))
  return classifyFds(fds.sort((a, b) => a.fd - b.fd), ids)
}

/**
 * The masked paths as the container sees them: files, which ocirt (as runc) hides under a bind of /dev/null that
 * CRIU must know as external, and directories, hidden under an empty read-only tmpfs (tmpfs-skeleton.ts).
 */
export function maskedPaths(pid: number, spec: Spec): {files: string[]; dirs: string[]} {
  const out = {files: [] as string[], dirs: [] as string[]}
  for (const p of spec.linux?.maskedPaths ?? []) {
    try {
      if (fs.statSync(path.join(`/proc/${pid}/root`, p)).isDirectory()) out.dirs.push(p)
      else out.files.push(p)
    } catch {
      // not there in this container
    }
  }
  return out
}
