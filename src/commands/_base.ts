// The oclif side of a verb: turns a VerbSpec's flag table into oclif flags and args (help, plugins), and
// runs the same `run` as the fast door. Global flags are oclif base flags here; src/index.ts moves them
// after the verb before oclif sees them.
import {Args, Command, Flags, type Interfaces} from '@oclif/core'
import {GLOBAL_FLAGS} from './_verbs/global-flags'
import type {FlagSpec, FlagValues, VerbSpec} from './_verbs/types'
import {runtimeFrom} from './_verbs/runtime-from'
import {configureLog, reportError} from '../core/log'
import {OcirtError} from '../core/errors'
import type {Runtime} from '../core/runtime'

type AnyFlag = Interfaces.Flag<unknown>

export function oclifFlags(table: Record<string, FlagSpec>): Record<string, AnyFlag> {
  const out: Record<string, AnyFlag> = {}
  for (const [name, f] of Object.entries(table)) {
    const common = {description: f.description, char: f.char as never, hidden: f.hidden, required: f.required}
    if (f.type === 'boolean') out[name] = Flags.boolean({...common, allowNo: false}) as AnyFlag
    // one value per occurrence (`-e A -e B id cmd`), as runc's flags: oclif's multiple flags are greedy otherwise
    else if (f.type === 'integer') out[name] = Flags.integer({...common, min: f.min, default: f.default as number | undefined, multiple: f.multiple as false, multipleNonGreedy: f.multiple}) as AnyFlag
    else out[name] = Flags.string({...common, default: f.default as string | undefined, options: f.options as string[] | undefined, multiple: f.multiple as false, multipleNonGreedy: f.multiple}) as AnyFlag
  }
  return out
}

export function oclifArgs(spec: VerbSpec): Record<string, Interfaces.Arg<string | undefined>> {
  return Object.fromEntries(spec.args.map((a) => [a.name, Args.string({description: a.description, required: a.required})]))
}

/** The oclif command of a verb; `verb` is the shared definition, set by verbCommand. */
export class VerbCommand extends Command {
  static verb: VerbSpec

  async run(): Promise<void> {
    const ctor = this.constructor as typeof VerbCommand
    const spec = ctor.verb
    // oclif spreads the options it is given, and a spread skips inherited statics: the subclass in
    // src/commands/<verb>.ts has none of its own, so they are named here
    const {args, flags, argv} = await this.parse({args: ctor.args, flags: ctor.flags, baseFlags: ctor.baseFlags, strict: ctor.strict})
    const globals = flags as FlagValues
    configureLog({file: globals.log as string | undefined, format: globals['log-format'] === 'json' ? 'json' : 'text', debug: globals.debug === true})
    let rt: Runtime | undefined
    const code = await spec.run({
      get rt() {
        return (rt ??= runtimeFrom(globals))
      },
      args: args as Record<string, string | undefined>,
      rest: (argv as string[]).slice(spec.args.length),
      flags: flags as FlagValues,
      stdout: (text) => void process.stdout.write(text),
      oclifConfig: this.config,
    })
    if (code) process.exitCode = code
  }

  protected override async catch(err: Error & {exitCode?: number}): Promise<void> {
    if (!(err instanceof OcirtError)) return super.catch(err)
    reportError(err.message)
    process.exitCode = err.exitCode
  }
}

/** Builds the oclif command class of a verb; src/commands/<verb>.ts only names it. */
export function verbCommand(spec: VerbSpec): typeof VerbCommand {
  const cls = class extends VerbCommand {
    static override verb = spec
    static override summary = spec.summary
    static override description = spec.description
    static override args = oclifArgs(spec)
    static override flags = oclifFlags(spec.flags)
    static override baseFlags = oclifFlags(GLOBAL_FLAGS)
    static override strict = !spec.variadic
    static override hidden = spec.hidden === true
  }
  // only where a verb has some: the manifest of the others stays as it was
  if (spec.examples) cls.examples = spec.examples
  return cls
}
