// `ocirt kill`: the flags, arguments and behaviour live in ./_verbs/kill.ts (shared with the fast door).
import {verbCommand} from './_base'
import {verb} from './_verbs/kill'

export default class Kill extends verbCommand(verb) {}
