// `ocirt ps`: the flags, arguments and behaviour live in ./_verbs/ps.ts (shared with the fast door).
import {verbCommand} from './_base'
import {verb} from './_verbs/ps'

export default class Ps extends verbCommand(verb) {}
