// `ocirt events`: the flags, arguments and behaviour live in ./_verbs/events.ts (shared with the fast door).
import {verbCommand} from './_base'
import {verb} from './_verbs/events'

export default class Events extends verbCommand(verb) {}
