// What `ocirt migrate` is asked to do (src/migrate/verb.ts maps the flags onto it), and how a migration that did
// not happen is reported: orchestrate.ts does the steps.
import {OcirtError} from '../core/errors'
import type {SshAuthOptions} from './ssh'
import type {ModeChoice} from './preflight'
import type {MigrationSummary} from './report'
import type {StopRules} from './stop-rules'
import type {PageTransport} from './page-server'
import type {ResolvedTarget} from './target'

export interface MigrateOptions {
  id: string
  target: ResolvedTarget
  auth: SshAuthOptions
  /** the ocirt command on the target (default: ocirt on its PATH) */
  remoteOcirt?: string
  remoteRoot?: string
  /** the bundle directory on the target (default: the same path as here) */
  remoteBundle?: string
  newId?: string
  targetCgroupsPath?: string
  mode: ModeChoice
  dryRun?: boolean
  quiet?: boolean
  tcpEstablished?: boolean
  extUnixSk?: boolean
  fileLocks?: boolean
  manageCgroupsMode?: string
  /** how the pages travel. Post-copy: straight from the source with TLS when the target can reach it (auto, the
   * default), or always through an SSH tunnel, or always TLS. Stop-copy: from the dump straight to a page server on
   * the target with TLS when this host can reach it (auto), or written here and streamed through SSH, or always TLS */
  pageTransport?: PageTransport
  /** post-copy: the TCP congestion control of the page server's connection (page-congestion.ts; default cubic,
   * `system` leaves the host's) */
  pageCongestion?: string
  /** a container with a terminal: the console socket on the target that takes its new pty master */
  consoleSocket?: string
  /** pre-copy: overrides of the stop rules (stop-rules.ts DEFAULT_STOP_RULES) */
  preCopyRules?: Partial<StopRules>
}

/** A migration that did not happen; `summary` says how far it got and what was undone. */
export class MigrationFailed extends OcirtError {
  constructor(message: string, readonly summary: MigrationSummary, ctx: {verb: string; id: string; step?: string}) {
    super(message, ctx)
    this.name = 'MigrationFailed'
  }
}
