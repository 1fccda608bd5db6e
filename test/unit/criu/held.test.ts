// A held criu restore's options (src/core/criu/held.ts): the restore's command line as the configuration file the
// held process reads when it is let go, and what cannot go that way.
import {it} from 'node:test'
import assert from 'node:assert/strict'
import {configFromArgv} from '../../../src/core/criu/held'
import {restoreArgs} from '../../../src/core/criu/args'

it("a restore's command line: one line per long option, -D/-W by their long names, -v4 left to the held command line", () => {
  const argv = ['restore', '-D', '/img', '-W', '/work', '--log-file', 'restore.log', '-v4', '--restore-detached',
    '--manage-cgroups=soft', '--ext-mount-map', '/out:/b/data', '--inherit-fd', 'fd[3]:file[17:3]', '--network-lock', 'skip']
  assert.equal(configFromArgv(argv), ['images-dir /img', 'work-dir /work', 'log-file restore.log', 'restore-detached',
    'manage-cgroups=soft', 'ext-mount-map /out:/b/data', 'inherit-fd fd[3]:file[17:3]', 'network-lock skip', ''].join('\n'))
})

it('what restoreArgs makes goes into the file whole', () => {
  const argv = restoreArgs({imagePath: '/img', workPath: '/work', pidFile: '/s/criu.pid', lazyPages: true}, {
    root: '/s/criu-root', cgroupRoots: [], extMounts: [{key: '/out', value: '/b/data'}], inheritFds: [{fd: 3, key: 'extRootNetNS'}], joinNs: [],
  })
  const config = configFromArgv(argv)
  assert.ok(config, `refused: ${argv.join(' ')}`)
  for (const want of ['images-dir /img', 'root /s/criu-root', 'pidfile /s/criu.pid', 'lazy-pages', 'inherit-fd fd[3]:extRootNetNS']) {
    assert.ok(config.split('\n').includes(want), `${want} missing from:\n${config}`)
  }
})

it('refused: not a restore, another verbosity, a short option it does not know, --config, a value with a space', () => {
  assert.equal(configFromArgv(['dump', '-v4', '-t', '1']), undefined)
  assert.equal(configFromArgv(['restore', '-v2', '-D', '/img']), undefined)
  assert.equal(configFromArgv(['restore', '-v4', '-x', '/img']), undefined)
  assert.equal(configFromArgv(['restore', '-v4', '--config', '/c']), undefined)
  assert.equal(configFromArgv(['restore', '-v4', '--root', '/a b']), undefined)
  assert.equal(configFromArgv(['restore', '-v4', '-D']), undefined)
})
