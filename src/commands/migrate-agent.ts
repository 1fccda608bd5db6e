// `ocirt migrate-agent` (hidden): the flags and behaviour live in ./_verbs/migrate-agent.ts.
import {verbCommand} from './_base'
import {verb} from './_verbs/migrate-agent'

export default class MigrateAgent extends verbCommand(verb) {}
