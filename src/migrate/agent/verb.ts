// `ocirt migrate-agent` (hidden, not for people): `ocirt migrate` starts it on the target host through its SSH
// connection. Without flags it serves the migration conversation on stdin/stdout (src/migrate/agent/server.ts);
// with --unpack DIR it extracts the tar stream on stdin into DIR (a bundle or the images) and prints what it wrote
// as JSON. Served by the fast door from its own bundle (dist/ocirt-migrate.js, src/migrate-door.ts): a migration
// starts one agent and an unpacker per tree, and through oclif each start cost ~250 ms more.
import {defineVerb} from '../../commands/_verbs/types'

export const verb = defineVerb({
  summary: 'the target side of ocirt migrate (started by it over SSH)',
  args: [],
  hidden: true,
  // the agent's conversation ends with its rollback, and an unpacker's answer is a line on a pipe: both end as
  // the oclif door did, when nothing is left to do, never cut short by process.exit
  naturalExit: true,
  flags: {
    unpack: {type: 'string', description: 'extract the tar stream on stdin into this directory'},
    session: {type: 'string', description: "with --unpack: the migration's staging directory on this host, where the unpacker registers itself so that a rollback stops it before removing anything"},
  },
  async run({rt, flags}) {
    if (flags.unpack !== undefined) {
      const {unpack} = await import('./unpack')
      process.stdout.write(`${JSON.stringify(await unpack(flags.unpack as string, flags.session as string | undefined, process.stdin))}\n`)
      return
    }
    const {serveAgent} = await import('./server')
    await serveAgent(rt, process.stdin, process.stdout)
  },
})
