// tar streaming of directory trees for `ocirt migrate` (tar-fs is imported from here and src/migrate/ssh/ only).
export {packTree, type PackOptions, type PackStream} from './pack'
export {extractTree, ExtractFailed, UnsafeTarEntry} from './extract'
export {listTree} from './list'
