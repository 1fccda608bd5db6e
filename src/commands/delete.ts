// `ocirt delete`: the flags, arguments and behaviour live in ./_verbs/delete.ts (shared with the fast door).
import {verbCommand} from './_base'
import {verb} from './_verbs/delete'

export default class Delete extends verbCommand(verb) {}
