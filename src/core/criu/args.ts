// The argv of `criu dump` / `criu pre-dump` / `criu restore` for a container: pure functions of the options the
// user gave (runc's checkpoint/restore flags) and a plain description of the container, so every flag is
// checked by golden unit tests. Working out that description (fds, mounts, cgroups) is plan.ts's job.
//
// Every flag here was checked against CRIU 4.1 (`criu --help`, `criu check <flag>`): --manage-cgroups takes its
// mode only as `--manage-cgroups=MODE`; --restore-sibling is refused without --restore-detached.

export type ManageCgroupsMode = 'soft' | 'full' | 'strict' | 'ignore'
export const MANAGE_CGROUPS_MODES: readonly ManageCgroupsMode[] = ['soft', 'full', 'strict', 'ignore']

/** Flags shared by checkpoint and restore (runc names them the same). */
export interface CriuCommonOptions {
  /** absolute image directory (-D) */
  imagePath: string
  /** absolute work directory (-W): logs, stats, pid file; CRIU's default is the image directory */
  workPath: string
  tcpEstablished?: boolean
  extUnixSk?: boolean
  shellJob?: boolean
  fileLocks?: boolean
  /** runc's --manage-cgroups-mode; CRIU's default (soft) when absent */
  manageCgroupsMode?: ManageCgroupsMode
  /** namespaces created empty (runc: only network, and network always: runc leaves networking to others) */
  emptyNs?: string[]
  autoDedup?: boolean
  lazyPages?: boolean
  /** a CRIU configuration file (runc's org.criu.config annotation) */
  configFile?: string
  /** CRIU's --network-lock (default iptables): `skip` where nothing needs the container's network held still
   * (migration: its network namespace is restored empty), which saves the iptables-restore runs of lock and unlock */
  networkLock?: NetworkLock
}

export type NetworkLock = 'iptables' | 'nftables' | 'skip'

export interface DumpOptions extends CriuCommonOptions {
  leaveRunning?: boolean
  /** criu pre-dump: memory only, the container keeps running */
  preDump?: boolean
  /** images of a previous (pre-)dump, relative to imagePath */
  parentPath?: string
  pageServer?: {address: string; port: number}
  /** criu's fd number of a connection that carries the page-server protocol (--ps-socket): the other end is ocirt's,
   * which relays it (migration); instead of pageServer */
  pageSocket?: number
  /** an fd of ours (and of criu: it is passed at the same number) where CRIU writes \0 once lazy pages are served */
  statusFd?: number
}

export interface RestoreOptions extends CriuCommonOptions {
  /** absolute path where CRIU writes the restored init's host pid */
  pidFile: string
  lsmProfile?: string
  lsmMountContext?: string
}

/** A mount CRIU must treat as external: on dump `key` is the mount point, `value` the id stored in the images;
 * on restore `key` is that id and `value` the host path bound in its place. */
export interface ExtMount {
  key: string
  value: string
}

export interface DumpContainer {
  /** host pid of the container's init: the root of the dumped tree */
  pid: number
  /** the container's root filesystem as the host sees it */
  rootfs: string
  /** the container's freezer cgroup directory (v1) or cgroup directory (v2): CRIU freezes the tree with it */
  freezerCgroup?: string
  extMounts: ExtMount[]
  /** --external resources: file[mnt_id:inode], tty[rdev:dev], net[inode]:key, ... */
  externals: string[]
}

export interface CgroupRoot {
  /** a controller name (cpu, name=systemd, ...); none = the default for every controller not named */
  controller?: string
  path: string
}

/** An fd of the criu process that stands in for the dumped resource `key` (pipe:[ino], file[mnt:ino], ...). */
export interface InheritFd {
  fd: number
  key: string
}

export interface RestoreContainer {
  /** where the container's rootfs is mounted for CRIU (a bind mount, as runc does) */
  root: string
  cgroupRoots: CgroupRoot[]
  extMounts: ExtMount[]
  inheritFds: InheritFd[]
  /** namespaces to join instead of creating them: type and path (--join-ns) */
  joinNs?: {type: string; path: string}[]
  /** a script CRIU runs at every restore step (action-script.ts: the container's hooks) */
  actionScript?: string
}

export const DUMP_LOG = 'dump.log'
export const RESTORE_LOG = 'restore.log'
const VERBOSITY = '-v4'

export function dumpArgs(opts: DumpOptions, c: DumpContainer): string[] {
  const argv = [opts.preDump ? 'pre-dump' : 'dump', '-t', String(c.pid)]
  argv.push(...commonHead(opts, DUMP_LOG))
  argv.push('--root', c.rootfs)
  if (opts.leaveRunning && !opts.preDump) argv.push('--leave-running')
  if (c.freezerCgroup) argv.push('--freeze-cgroup', c.freezerCgroup)
  if (opts.parentPath) argv.push('--prev-images-dir', opts.parentPath, '--track-mem')
  else if (opts.preDump) argv.push('--track-mem')
  // a lazy dump serves the pages itself on ADDRESS:PORT (criu lazy-pages on the target connects to it); otherwise
  // --page-server sends them to a `criu page-server` listening there
  if (opts.pageServer) {
    if (!opts.lazyPages) argv.push('--page-server')
    argv.push('--address', opts.pageServer.address, '--port', String(opts.pageServer.port))
  } else if (opts.pageSocket !== undefined) {
    if (!opts.lazyPages) argv.push('--page-server')
    argv.push('--ps-socket', String(opts.pageSocket))
  }
  if (opts.statusFd !== undefined && opts.statusFd >= 0) argv.push('--status-fd', String(opts.statusFd))
  argv.push(...commonTail(opts))
  if (!opts.preDump) {
    // a pre-dump writes memory only: mounts and files are left to the final dump
    for (const m of c.extMounts) argv.push('--ext-mount-map', extMountArg(m))
    for (const e of c.externals) argv.push('--external', e)
  }
  return argv
}

export function restoreArgs(opts: RestoreOptions, c: RestoreContainer): string[] {
  const argv = ['restore', ...commonHead(opts, RESTORE_LOG)]
  argv.push('--root', c.root)
  // detached: criu returns once the tree runs; sibling: the restored init becomes a child of ocirt (so a
  // foreground restore can wait for it) and then of ocirt's reaper, as runc's is
  argv.push('--restore-detached', '--restore-sibling', '--pidfile', opts.pidFile)
  // a device the container had open may sit at another path on this host (runc sets it too)
  argv.push('--evasive-devices')
  for (const r of c.cgroupRoots) argv.push('--cgroup-root', r.controller ? `${r.controller}:${r.path}` : r.path)
  if (opts.lsmProfile) argv.push('--lsm-profile', opts.lsmProfile)
  if (opts.lsmMountContext) argv.push('--lsm-mount-context', opts.lsmMountContext)
  argv.push(...commonTail(opts))
  for (const m of c.extMounts) argv.push('--ext-mount-map', extMountArg(m))
  for (const j of c.joinNs ?? []) argv.push('--join-ns', `${j.type}:${j.path}`)
  for (const f of c.inheritFds) argv.push('--inherit-fd', `fd[${f.fd}]:${f.key}`)
  if (c.actionScript) argv.push('--action-script', c.actionScript)
  return argv
}

function commonHead(opts: CriuCommonOptions, log: string): string[] {
  const argv = ['-D', opts.imagePath, '-W', opts.workPath, '--log-file', log, VERBOSITY]
  if (opts.configFile) argv.push('--config', opts.configFile)
  argv.push(`--manage-cgroups=${opts.manageCgroupsMode ?? 'soft'}`)
  return argv
}

function commonTail(opts: CriuCommonOptions): string[] {
  const argv: string[] = []
  if (opts.tcpEstablished) argv.push('--tcp-established')
  if (opts.extUnixSk) argv.push('--ext-unix-sk')
  if (opts.shellJob) argv.push('--shell-job')
  if (opts.fileLocks) argv.push('--file-locks')
  if (opts.autoDedup) argv.push('--auto-dedup')
  if (opts.lazyPages) argv.push('--lazy-pages')
  if (opts.networkLock) argv.push('--network-lock', opts.networkLock)
  for (const ns of criuNsNames(opts.emptyNs ?? [])) argv.push('--empty-ns', ns)
  return argv
}

/** runc's namespace names (network) to CRIU's (net), each once. */
function criuNsNames(names: string[]): string[] {
  return [...new Set(names.map((n) => (n === 'network' ? 'net' : n)))]
}

/** CRIU splits KEY:VALUE at the first colon, so a key cannot hold one (plan.ts refuses such mounts first). */
function extMountArg(m: ExtMount): string {
  if (m.key.includes(':')) throw new Error(`external mount ${m.key}: a path with ':' cannot be passed to criu`)
  return `${m.key}:${m.value}`
}
