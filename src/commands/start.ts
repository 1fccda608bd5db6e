// `ocirt start`: the flags, arguments and behaviour live in ./_verbs/start.ts (shared with the fast door).
import {verbCommand} from './_base'
import {verb} from './_verbs/start'

export default class Start extends verbCommand(verb) {}
