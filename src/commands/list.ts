// `ocirt list`: the flags, arguments and behaviour live in ./_verbs/list.ts (shared with the fast door).
import {verbCommand} from './_base'
import {verb} from './_verbs/list'

export default class List extends verbCommand(verb) {}
