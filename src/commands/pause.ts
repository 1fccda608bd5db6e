// `ocirt pause`: the flags, arguments and behaviour live in ./_verbs/pause.ts (shared with the fast door).
import {verbCommand} from './_base'
import {verb} from './_verbs/pause'

export default class Pause extends verbCommand(verb) {}
