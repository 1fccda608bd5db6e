// Bundles the executable's fast door (src/index.ts and the core it reaches) into dist/ocirt.js, so a verb
// loads one file instead of dozens. Native and heavy packages stay external and are required lazily.
import {build} from 'esbuild'

await build({
  entryPoints: ['src/index.ts'],
  outfile: 'dist/ocirt.js',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['@oclif/*', 'koffi', 'ssh2', 'tar-fs', '@kubernetes/client-node'],
  legalComments: 'none',
  logLevel: 'warning',
})
