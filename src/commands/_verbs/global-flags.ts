// runc's global flags, which engines put before the verb (`ocirt --root R --log F --log-format json create ...`).
import type {FlagSpec} from './types'

export const GLOBAL_FLAGS: Record<string, FlagSpec> = {
  root: {type: 'string', description: 'root directory for storage of container state (this should be located in tmpfs)'},
  log: {type: 'string', description: 'set the log file to write ocirt logs to (default is stderr)'},
  'log-format': {type: 'string', description: 'set the log format', options: ['text', 'json'], default: 'text'},
  debug: {type: 'boolean', description: 'enable debug logging'},
  'systemd-cgroup': {type: 'boolean', description: 'enable systemd cgroup support (not available: no systemd driver yet)'},
  rootless: {type: 'string', description: 'ignore cgroup permission errors', options: ['true', 'false', 'auto'], default: 'auto'},
  criu: {type: 'string', description: 'path to the criu binary used for checkpoint and restore', default: 'criu'},
}
