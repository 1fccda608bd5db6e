// ssh transport of `ocirt migrate` (ssh2 is imported from src/migrate/ssh/ and src/migrate/stream/ only).
export type {ExitStatus, RemoteProcess, RunResult, SshAuthOptions, SshSession, SshTarget, Tunnel} from './types'
export {connectSsh} from './session'
export {
  HostKeyChanged, HostKeyRevoked, HostKeyTypeChanged, HostKeyUnknown, RemoteCommandTimeout, SshAuthFailed, SshChannelFailed,
  SshConnectFailed, SshConnectionLost, SshError, describeTarget,
} from './errors'
export {quoteArgv, quoteWord} from './quote'
