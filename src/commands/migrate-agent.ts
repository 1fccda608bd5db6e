// `ocirt migrate-agent` (hidden, not for people): `ocirt migrate` starts it on the target host through its SSH
// connection, before the container is frozen, so oclif's start-up cost never lands in the downtime. Without flags
// it serves the migration conversation on stdin/stdout (src/migrate/agent/server.ts); with --unpack DIR it
// extracts the tar stream on stdin into DIR (a bundle or the images) and prints what it wrote as JSON.
import {Command, Flags} from '@oclif/core'
import {oclifFlags} from './_base'
import {GLOBAL_FLAGS} from './_verbs/global-flags'
import {runtimeFrom} from './_verbs/runtime-from'
import type {FlagValues} from './_verbs/types'
import {configureLog, reportError} from '../core/log'
import {OcirtError} from '../core/errors'

export default class MigrateAgent extends Command {
  static override hidden = true
  static override summary = 'the target side of ocirt migrate (started by it over SSH)'
  static override baseFlags = oclifFlags(GLOBAL_FLAGS)
  static override flags = {
    unpack: Flags.string({description: 'extract the tar stream on stdin into this directory'}),
    session: Flags.string({description: "with --unpack: the migration's staging directory on this host, where the unpacker registers itself so that a rollback stops it before removing anything"}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(MigrateAgent)
    const globals = flags as unknown as FlagValues
    configureLog({file: globals.log as string | undefined, format: globals['log-format'] === 'json' ? 'json' : 'text', debug: globals.debug === true})
    if (flags.unpack !== undefined) {
      const {unpack} = await import('../migrate/agent/unpack')
      process.stdout.write(`${JSON.stringify(await unpack(flags.unpack, flags.session, process.stdin))}\n`)
      return
    }
    const {serveAgent} = await import('../migrate/agent/server')
    await serveAgent(runtimeFrom(globals), process.stdin, process.stdout)
  }

  protected override async catch(err: Error & {exitCode?: number}): Promise<void> {
    if (!(err instanceof OcirtError)) return super.catch(err)
    reportError(err.message)
    process.exitCode = err.exitCode
  }
}
