// What ocirt records about a container in <root>/<id>/state.json: facts only. The status is never stored;
// status.ts derives it from these facts and the live system.

export interface ContainerFacts {
  ociVersion: string
  id: string
  /** host pid of the container's init; 0 before it exists */
  pid: number
  /** field 22 of /proc/<pid>/stat when the init was started: tells a reused pid apart */
  pidStartTime: string
  bundle: string
  rootfs: string
  /** RFC 3339 creation time */
  created: string
  owner: string
  annotations: Record<string, string>
  /** made: parent directories create made (older state files lack it), removed again by delete */
  cgroup: {version: 'v1' | 'v2'; path: string; paths: Record<string, string>; made?: string[]}
  /** namespace type → /proc/<pid>/ns path or the path the config joined */
  namespaces: Record<string, string>
  rootless: boolean
  /** the container uses a terminal (exec -t defaults, checkpoint --shell-job) */
  terminal: boolean
  /** set by `ocirt restore`: the container came from a checkpoint */
  restored?: boolean
  /**
   * set by `ocirt checkpoint` without --leave-running once CRIU has dumped and killed the tasks: the container is
   * stopped, and a restore under its id may take it over (restore-takeover.ts). poststopRan: its poststop hooks ran
   * at the checkpoint, as runc runs them there; delete and a takeover do not run them again (older records lack it)
   */
  checkpointed?: {imagePath: string; time: string; poststopRan?: boolean}
}

/** The state JSON runc prints for `state` and hands to hooks (same keys, same order). */
export interface OciState {
  ociVersion: string
  id: string
  pid: number
  status: Status
  bundle: string
  rootfs: string
  created: string
  annotations?: Record<string, string>
  owner: string
}

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped'
