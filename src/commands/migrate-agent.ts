// `ocirt migrate-agent`: the flags, arguments and behaviour live in ./_verbs/migrate-agent.ts (shared with the fast
// door of dist/ocirt-migrate.js, src/migrate-door.ts, which is what `ocirt migrate` starts on the target).
import {verbCommand} from './_base'
import {verb} from './_verbs/migrate-agent'

export default class MigrateAgent extends verbCommand(verb) {}
