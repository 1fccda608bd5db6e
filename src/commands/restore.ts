// `ocirt restore`: the flags, arguments and behaviour live in ./_verbs/restore.ts (shared with the fast door).
import {verbCommand} from './_base'
import {verb} from './_verbs/restore'

export default class Restore extends verbCommand(verb) {}
