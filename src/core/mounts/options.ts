// MOUNT_OPTIONS: the mount options this runtime understands (mount(2) flags, propagation, recursive
// mount_setattr attributes, extensions) and parseMountOptions(); any other option is filesystem data, as in
// runc. mounts/plan.ts turns the result into MountSteps; `features` lists the table's supported names.
import {InvalidInput, type ErrorContext} from '../errors'

/** mount(2) flags from <linux/mount.h>; all below 2^31, so plain numbers and `|`/`&` are safe. */
export const MS = {
  RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, SYNCHRONOUS: 16, REMOUNT: 32, MANDLOCK: 64, DIRSYNC: 128,
  NOSYMFOLLOW: 256, NOATIME: 1024, NODIRATIME: 2048, BIND: 4096, MOVE: 8192, REC: 16384, SILENT: 32768,
  POSIXACL: 1 << 16, UNBINDABLE: 1 << 17, PRIVATE: 1 << 18, SLAVE: 1 << 19, SHARED: 1 << 20,
  RELATIME: 1 << 21, I_VERSION: 1 << 23, STRICTATIME: 1 << 24, LAZYTIME: 1 << 25,
} as const

/** mount_setattr(2) attributes (Linux 5.12) for the recursive r* options. */
export const MOUNT_ATTR = {
  RDONLY: 0x1, NOSUID: 0x2, NODEV: 0x4, NOEXEC: 0x8, ATIME_MASK: 0x70, RELATIME: 0x0, NOATIME: 0x10,
  STRICTATIME: 0x20, NODIRATIME: 0x80, IDMAP: 0x100000, NOSYMFOLLOW: 0x200000,
} as const

export type MountOption =
  | {kind: 'flag'; set: number; clear: number}
  | {kind: 'propagation'; flags: number}
  /** applied with mount_setattr(AT_RECURSIVE) after the mount; atime modes replace each other */
  | {kind: 'recursive'; attrSet: number; attrClr: number}
  | {kind: 'extension'}
  | {kind: 'unsupported'; why: string}

const set = (flags: number): MountOption => ({kind: 'flag', set: flags, clear: 0})
const clear = (flags: number): MountOption => ({kind: 'flag', set: 0, clear: flags})
const prop = (flags: number): MountOption => ({kind: 'propagation', flags})
const rset = (attr: number): MountOption => ({kind: 'recursive', attrSet: attr, attrClr: 0})
const rclr = (attr: number): MountOption => ({kind: 'recursive', attrSet: 0, attrClr: attr})
const ratime = (mode: number): MountOption => ({kind: 'recursive', attrSet: mode, attrClr: MOUNT_ATTR.ATIME_MASK})

export const MOUNT_OPTIONS: Readonly<Record<string, MountOption>> = {
  defaults: set(0),
  ro: set(MS.RDONLY), rw: clear(MS.RDONLY),
  nosuid: set(MS.NOSUID), suid: clear(MS.NOSUID),
  nodev: set(MS.NODEV), dev: clear(MS.NODEV),
  noexec: set(MS.NOEXEC), exec: clear(MS.NOEXEC),
  sync: set(MS.SYNCHRONOUS), async: clear(MS.SYNCHRONOUS),
  dirsync: set(MS.DIRSYNC),
  remount: set(MS.REMOUNT),
  mand: set(MS.MANDLOCK), nomand: clear(MS.MANDLOCK),
  noatime: set(MS.NOATIME), atime: clear(MS.NOATIME),
  nodiratime: set(MS.NODIRATIME), diratime: clear(MS.NODIRATIME),
  relatime: set(MS.RELATIME), norelatime: clear(MS.RELATIME),
  strictatime: set(MS.STRICTATIME), nostrictatime: clear(MS.STRICTATIME),
  lazytime: set(MS.LAZYTIME), nolazytime: clear(MS.LAZYTIME),
  iversion: set(MS.I_VERSION), noiversion: clear(MS.I_VERSION),
  acl: set(MS.POSIXACL), noacl: clear(MS.POSIXACL),
  silent: set(MS.SILENT), loud: clear(MS.SILENT),
  nosymfollow: set(MS.NOSYMFOLLOW), symfollow: clear(MS.NOSYMFOLLOW),
  bind: set(MS.BIND), rbind: set(MS.BIND | MS.REC),

  private: prop(MS.PRIVATE), rprivate: prop(MS.PRIVATE | MS.REC),
  shared: prop(MS.SHARED), rshared: prop(MS.SHARED | MS.REC),
  slave: prop(MS.SLAVE), rslave: prop(MS.SLAVE | MS.REC),
  unbindable: prop(MS.UNBINDABLE), runbindable: prop(MS.UNBINDABLE | MS.REC),

  rro: rset(MOUNT_ATTR.RDONLY), rrw: rclr(MOUNT_ATTR.RDONLY),
  rnosuid: rset(MOUNT_ATTR.NOSUID), rsuid: rclr(MOUNT_ATTR.NOSUID),
  rnodev: rset(MOUNT_ATTR.NODEV), rdev: rclr(MOUNT_ATTR.NODEV),
  rnoexec: rset(MOUNT_ATTR.NOEXEC), rexec: rclr(MOUNT_ATTR.NOEXEC),
  rnodiratime: rset(MOUNT_ATTR.NODIRATIME), rdiratime: rclr(MOUNT_ATTR.NODIRATIME),
  rnosymfollow: rset(MOUNT_ATTR.NOSYMFOLLOW), rsymfollow: rclr(MOUNT_ATTR.NOSYMFOLLOW),
  // The kernel takes one atime mode at a time and wants the whole mode mask cleared to change it; "no
  // relatime" and "no strictatime"/"atime" fall back to the mode the kernel otherwise uses.
  rnoatime: ratime(MOUNT_ATTR.NOATIME), ratime: ratime(MOUNT_ATTR.RELATIME),
  rrelatime: ratime(MOUNT_ATTR.RELATIME), rnorelatime: ratime(MOUNT_ATTR.STRICTATIME),
  rstrictatime: ratime(MOUNT_ATTR.STRICTATIME), rnostrictatime: ratime(MOUNT_ATTR.RELATIME),

  // tmpfs only: copy the image's files at the destination into the fresh tmpfs
  tmpcopyup: {kind: 'extension'},

  idmap: {kind: 'unsupported', why: 'idmapped mounts are not supported'},
  ridmap: {kind: 'unsupported', why: 'idmapped mounts are not supported'},
}

export interface ParsedMountOptions {
  /** MS_* flags for mount(2), including MS_BIND/MS_REC of bind/rbind and MS_REMOUNT */
  flags: number
  /** MS_* flags an option explicitly turned off (rw, suid, ...): a remount must clear them */
  clearFlags: number
  /** the last propagation option's flags (MS_SHARED|MS_REC, ...), 0 when none */
  propagation: number
  /** every propagation option in order (each needs its own mount(2) call) */
  propagations: number[]
  /** MOUNT_ATTR_* to set and clear recursively (rro, rnosuid, ...); both 0 when none */
  recAttrSet: number
  recAttrClr: number
  /** the options that are not flags, comma-joined in order: filesystem data such as "mode=755,size=65536k" */
  data: string
  /** bind or rbind */
  bind: boolean
  /** rbind */
  recursive: boolean
  tmpcopyup: boolean
  /** recognized options this runtime cannot honour (idmap, ridmap) */
  unsupported: string[]
}

function lookup(name: string): MountOption | undefined {
  return Object.prototype.hasOwnProperty.call(MOUNT_OPTIONS, name) ? MOUNT_OPTIONS[name] : undefined
}

/** Sorts options into flags, propagation, recursive attributes and data; never throws. */
export function scanMountOptions(options: readonly string[]): ParsedMountOptions {
  const r: ParsedMountOptions = {
    flags: 0, clearFlags: 0, propagation: 0, propagations: [], recAttrSet: 0, recAttrClr: 0,
    data: '', bind: false, recursive: false, tmpcopyup: false, unsupported: [],
  }
  const data: string[] = []
  for (const name of options) {
    const o = lookup(name)
    if (!o) {
      data.push(name)
      continue
    }
    switch (o.kind) {
      case 'flag':
        r.flags = (r.flags & ~o.clear) | o.set
        r.clearFlags = (r.clearFlags & ~o.set) | o.clear
        break
      case 'propagation':
        r.propagations.push(o.flags)
        r.propagation = o.flags
        break
      case 'recursive':
        r.recAttrSet = (r.recAttrSet & ~o.attrClr) | o.attrSet
        r.recAttrClr = (r.recAttrClr & ~o.attrSet) | o.attrClr
        break
      case 'extension':
        r.tmpcopyup = true
        break
      case 'unsupported':
        r.unsupported.push(name)
        break
    }
  }
  r.bind = (r.flags & MS.BIND) !== 0
  r.recursive = r.bind && (r.flags & MS.REC) !== 0
  r.data = data.join(',')
  return r
}

/**
 * scanMountOptions, but an unsupported option is an InvalidInput naming it; `where` is its config path
 * ("mounts[3].options").
 */
export function parseMountOptions(options: readonly string[], where = 'mount options', ctx: ErrorContext = {}): ParsedMountOptions {
  const r = scanMountOptions(options)
  if (r.unsupported.length > 0) {
    const name = r.unsupported[0]
    throw new InvalidInput(`${where}: option ${JSON.stringify(name)}: ${unsupportedReason(name)}`, ctx)
  }
  return r
}

export function unsupportedReason(name: string): string {
  const o = lookup(name)
  return o?.kind === 'unsupported' ? o.why : 'not supported'
}

/** MS_* flags of a propagation name (linux.rootfsPropagation, "rshared" → MS_SHARED|MS_REC), else undefined. */
export function propagationFlags(name: string): number | undefined {
  const o = lookup(name)
  return o?.kind === 'propagation' ? o.flags : undefined
}

/** Supported option names, sorted as `runc features` prints them. */
export function mountOptionNames(): string[] {
  return Object.keys(MOUNT_OPTIONS).filter((n) => MOUNT_OPTIONS[n].kind !== 'unsupported').sort()
}
