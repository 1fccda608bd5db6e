// `ocirt hello [NAME] [--root DIR] [--json]`: an example plugin command. It greets, then lists the containers
// under --root through ocirt's core barrel. Plain CommonJS with no dependencies (not even @oclif/core), so
// `ocirt plugins link` has nothing to install and works offline: oclif only needs a class with a static
// run(argv, config) and static flags/args in its manifest shape.
'use strict'

// runc's global flags: ocirt moves them after the verb before oclif sees them (`ocirt --root R hello`).
const VALUE_FLAGS = new Set(['root', 'log', 'log-format', 'rootless', 'criu'])
const BOOLEAN_FLAGS = new Set(['json', 'debug', 'systemd-cgroup'])

class Hello {
  static summary = 'say hello and list the containers under --root (example plugin)'
  static description = 'An example ocirt plugin command: it reaches the runtime through ocirt\'s core barrel (package.json "main").'
  static examples = ['<%= config.bin %> hello', '<%= config.bin %> --root /run/ocirt hello world --json']
  static strict = true
  static args = {
    name: {name: 'name', description: 'who to greet', required: false},
  }
  static flags = {
    root: {name: 'root', type: 'option', multiple: false, description: 'root directory of the container state (as ocirt --root)'},
    json: {name: 'json', type: 'boolean', allowNo: false, description: 'print the greeting and the containers as JSON'},
  }

  static async run(argv, config) {
    const {flags, args} = parse(argv)
    const ocirt = loadCore(config)
    const rt = ocirt.createRuntime({root: flags.root, rootless: flags.rootless})
    const containers = ocirt.list(rt).map((s) => ({id: s.id, status: s.status, pid: s.pid}))
    const greeting = `hello ${args[0] ?? 'world'} from ${config.bin} ${config.version} (ocirt core ${ocirt.version()})`
    if (flags.json) {
      process.stdout.write(JSON.stringify({greeting, root: rt.root, containers}) + '\n')
      return
    }
    process.stdout.write(`${greeting}\n${containers.length} container(s) under ${rt.root}\n`)
    for (const c of containers) process.stdout.write(`  ${c.id}\t${c.status}\t${c.pid}\n`)
  }
}

/** ocirt's core barrel. The running CLI's root is the sure way to reach the same build; require('ocirt')
 * also works where ocirt is installed as a package next to the plugin. */
function loadCore(config) {
  try {
    return require(config.root)
  } catch (err) {
    if (err.code !== 'MODULE_NOT_FOUND') throw err
    return require('ocirt')
  }
}

/** `--flag value`, `--flag=value`, booleans; global flags are accepted, anything else is an error. */
function parse(argv) {
  const flags = {}
  const args = []
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]
    if (!tok.startsWith('-') || tok === '-') {
      args.push(tok)
      continue
    }
    const [key, inline] = tok.replace(/^--?/, '').split(/=(.*)/s)
    if (BOOLEAN_FLAGS.has(key)) flags[key] = inline === undefined || inline === 'true'
    else if (VALUE_FLAGS.has(key)) {
      const value = inline ?? argv[++i]
      if (value === undefined) throw usage(`flag needs an argument: --${key}`)
      flags[key] = value
    } else throw usage(`flag provided but not defined: ${tok}`)
  }
  if (args.length > 1) throw usage(`"hello" takes at most 1 argument, got ${args.length}`)
  return {flags, args}
}

function usage(message) {
  return Object.assign(new Error(message), {oclif: {exit: 1}})
}

module.exports = Hello
