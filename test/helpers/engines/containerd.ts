// A private containerd for one test file: its own config (root, state, gRPC and ttrpc sockets, the "opt"
// plugin's directory all in a temp dir; no CRI plugin, no debug or metrics listener), started and stopped
// by its pid. Containers run through the io.containerd.runc.v2 shim with ocirt as its runc binary
// (`ctr run --runc-binary bin/ocirt --runc-root DIR`); the shim then calls `ocirt --root DIR/<namespace> ...`.
// Each instance uses its own namespace, so its containers' cgroups are /<namespace>/<id>.
//
// The shim's sockets always go to /run/containerd/s and ctr's stdio fifos to /run/containerd/fifo (not
// configurable): those directories are removed afterwards when this run created them and they are empty.
import * as fs from 'node:fs'
import * as path from 'node:path'
import type {Cleanup} from '../cleanup'
import {OCIRT_BIN} from '../paths'
import {assertCmd, runCmd, shellLine, type CmdOptions, type CmdResult} from './command'
import {ctrSeccomp, existing, findBin, IMAGE, privateDir, removeIfNewAndEmpty, uniqueName} from './common'
import {reapMentioning, startDaemon, stopDaemon, waitReady, type Daemon} from './daemon'
import {ociArchive} from './image'
import {deleteOcirtContainers} from './proof'

const HOST_DIRS = ['/run/containerd/s', '/run/containerd/fifo', '/run/containerd']

export interface ContainerdOptions {
  /** Also clean up the containers of these other namespaces (e.g. dockerd's "moby") before stopping. */
  extraNamespaces?: string[]
}

export class Containerd {
  readonly dir: string
  /** The gRPC socket (ctr --address, dockerd --containerd). */
  readonly socket: string
  /** ctr's namespace for this instance's containers. */
  readonly namespace: string
  /** --runc-root given to the shim: ocirt's state is under <ocirtRoot>/<namespace>. */
  readonly ocirtRoot: string
  private daemon?: Daemon

  private constructor(readonly cleanup: Cleanup, private readonly opts: ContainerdOptions) {
    this.dir = privateDir('ocirt-containerd')
    cleanup.dir(this.dir)
    this.socket = path.join(this.dir, 'containerd.sock')
    this.namespace = uniqueName('ocirt-ctr')
    cleanup.cgroup(`/${this.namespace}`)
    this.ocirtRoot = path.join(this.dir, 'ocirt-root')
  }

  /** Write the config, start containerd and wait for its socket to answer. */
  static async start(cleanup: Cleanup, opts: ContainerdOptions = {}): Promise<Containerd> {
    const c = new Containerd(cleanup, opts)
    const hostDirsBefore = existing(HOST_DIRS)
    cleanup.add('containerd host dirs', () => removeIfNewAndEmpty(hostDirsBefore, HOST_DIRS))
    const config = path.join(c.dir, 'config.toml')
    fs.writeFileSync(config, [
      'version = 2',
      `root = "${path.join(c.dir, 'root')}"`,
      `state = "${path.join(c.dir, 'state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${c.socket}"`,
      '[ttrpc]',
      `  address = "${c.socket}.ttrpc"`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""',
      // without this the "opt" plugin creates /opt/containerd
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${path.join(c.dir, 'opt')}"`,
      '',
    ].join('\n'))
    c.daemon = startDaemon('containerd', findBin('containerd')!, ['--config', config], path.join(c.dir, 'containerd.log'))
    cleanup.add('containerd', () => c.teardown())
    await waitReady(c.daemon, async () => (await c.ctr(['version'], {timeoutMs: 10_000})).code === 0)
    return c
  }

  /** `ctr --address SOCKET --namespace NS ARGS` (NS: this instance's, or opts.namespace). */
  ctr(args: string[], opts: CmdOptions & {namespace?: string} = {}): Promise<CmdResult> {
    return runCmd(findBin('ctr')!, ['--address', this.socket, '--namespace', opts.namespace ?? this.namespace, ...args], opts)
  }

  /** The ctr command line as a string for a terminal (onTerminal). */
  shellCommand(args: string[]): string {
    return shellLine(findBin('ctr')!, ['--address', this.socket, '--namespace', this.namespace, ...args])
  }

  /** `ctr run` flags that make the runc shim call ocirt, on the native (plain copy) snapshotter. */
  runFlags(): string[] {
    return ['--snapshotter', 'native', '--runc-binary', OCIRT_BIN, '--runc-root', this.ocirtRoot, ...ctrSeccomp()]
  }

  /** Where the shim keeps ocirt's state of this namespace's containers. */
  ocirtStateRoot(namespace = this.namespace): string {
    return path.join(this.ocirtRoot, namespace)
  }

  /** `ctr images import` of the test rootfs as an OCI archive, unpacked for the native snapshotter. */
  async importImage(): Promise<void> {
    assertCmd(await this.ctr(['images', 'import', '--snapshotter', 'native', ociArchive(this.dir, IMAGE)]), 'ctr images import')
  }

  /** {id: {pid, status}} from `ctr task ls`. */
  async tasks(namespace?: string): Promise<Map<string, {pid: number; status: string}>> {
    const out = assertCmd(await this.ctr(['task', 'ls'], {namespace}), 'ctr task ls').stdout.trim().split('\n').slice(1)
    return new Map(out.filter(Boolean).map((l) => l.trim().split(/\s+/)).map(([id, pid, status]) => [id, {pid: Number(pid), status}]))
  }

  /** Kill and delete every task and container (in each namespace used), stop containerd, reap its shims. */
  private async teardown(): Promise<void> {
    if (this.daemon && this.daemon.child.exitCode === null) {
      for (const ns of [this.namespace, ...(this.opts.extraNamespaces ?? [])]) {
        const tasks = await this.tasks(ns).catch(() => new Map())
        for (const id of tasks.keys()) {
          await this.ctr(['task', 'kill', '-a', '-s', 'SIGKILL', id], {namespace: ns})
          await this.ctr(['task', 'delete', '-f', id], {namespace: ns})
        }
        const containers = (await this.ctr(['containers', 'ls', '-q'], {namespace: ns})).stdout.split('\n').filter(Boolean)
        if (containers.length > 0) await this.ctr(['containers', 'delete', ...containers], {namespace: ns})
        const images = (await this.ctr(['images', 'ls', '-q'], {namespace: ns})).stdout.split('\n').filter(Boolean)
        if (images.length > 0) await this.ctr(['images', 'rm', ...images], {namespace: ns})
      }
      await stopDaemon(this.daemon)
    }
    await reapMentioning(this.socket)
    for (const ns of fs.existsSync(this.ocirtRoot) ? fs.readdirSync(this.ocirtRoot) : []) await deleteOcirtContainers(path.join(this.ocirtRoot, ns))
  }
}
