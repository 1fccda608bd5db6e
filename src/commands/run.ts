// `ocirt run`: the flags, arguments and behaviour live in ./_verbs/run.ts (shared with the fast door).
import {verbCommand} from './_base'
import {verb} from './_verbs/run'

export default class Run extends verbCommand(verb) {}
