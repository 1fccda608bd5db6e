// tar-fs 3's options as we use them (@types/tar-fs describes the 2.x API, without umask, fs, finalize, finish,
// validateSymlinks or the tar-stream header fields for links and device nodes).
import * as fs from 'node:fs'
import * as tarFs from 'tar-fs'

export interface TarHeader {
  name: string
  type: 'file' | 'link' | 'symlink' | 'directory' | 'fifo' | 'character-device' | 'block-device' | string
  mode?: number
  uid?: number
  gid?: number
  size?: number
  mtime?: Date
  linkname?: string
  devmajor?: number
  devminor?: number
}

/** tar-stream's pack side, as tar-fs hands it to `finish` */
export interface TarPack {
  entry(header: TarHeader, callback?: (err?: Error) => void): unknown
  finalize(): void
}

export interface PackOpts {
  fs?: unknown
  ignore?: (absPath: string) => boolean
  umask?: number
  finalize?: boolean
  finish?: (pack: TarPack) => void
}

export interface ExtractOpts {
  fs?: unknown
  umask?: number
  validateSymlinks?: boolean
  ignore?: (absPath: string, header?: TarHeader) => boolean
}

/** streamx streams: enough of the Node stream surface to pipe and to listen to */
export type TarReadable = NodeJS.ReadableStream & {destroy(err?: Error): void}
export type TarWritable = NodeJS.WritableStream & {destroy(err?: Error): void}

export const pack = tarFs.pack as unknown as (dir: string, opts: PackOpts) => TarReadable
export const extract = tarFs.extract as unknown as (dir: string, opts: ExtractOpts) => TarWritable
export type FsModule = typeof fs
