// `ocirt migrate-agent`: the flags, arguments and behaviour live in ../migrate/agent/verb.ts (shared with the fast
// door of dist/ocirt-migrate.js, src/migrate-door.ts, which is what `ocirt migrate` starts on the target).
import {verbCommand} from './_base'
import {verb} from '../migrate/agent/verb'

export default class MigrateAgent extends verbCommand(verb) {}
