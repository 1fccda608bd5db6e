// `ocirt exec`: the flags, arguments and behaviour live in ./_verbs/exec.ts (shared with the fast door).
import {verbCommand} from './_base'
import {verb} from './_verbs/exec'

export default class Exec extends verbCommand(verb) {}
