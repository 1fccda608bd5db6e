// `ocirt migrate`: the flags, arguments and behaviour live in ../migrate/verb.ts (shared with the fast door of
// dist/ocirt-migrate.js, src/migrate-door.ts, which serves it when no plugin is installed).
import {verbCommand} from './_base'
import {verb} from '../migrate/verb'

export default class Migrate extends verbCommand(verb) {}
