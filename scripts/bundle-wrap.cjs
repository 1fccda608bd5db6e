// How scripts/bundle.mjs wraps a bundle (esbuild banner and footer): as the CommonJS module function Module.wrap
// would make, so the loader (scripts/ocirt-loader.js) compiles the file's text as read, without a concatenated
// copy of it on every start. Evaluated by the loader (no `module` in scope) the file's value is that function;
// run directly by Node (`node dist/ocirt-main.js`) it calls the function with its own module's arguments.
'use strict'
module.exports = {
  banner: "(function (run) { return typeof module === 'object' && typeof require === 'function' ? run.call(exports, exports, require, module, __filename, __dirname) : run })(function (exports, require, module, __filename, __dirname) {",
  footer: '\n});',
}
