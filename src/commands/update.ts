// `ocirt update`: the flags, arguments and behaviour live in ./_verbs/update.ts (shared with the fast door).
import {verbCommand} from './_base'
import {verb} from './_verbs/update'

export default class Update extends verbCommand(verb) {}
