// listTree: every path under a directory, relative and sorted, symlinks listed but never followed; the
// difference between two listings is what an incremental sync must delete on the other side.
import * as fs from 'node:fs'
import * as path from 'node:path'

export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (rel: string): Promise<void> => {
    let entries: fs.Dirent[]
    try {
      entries = await fs.promises.readdir(path.join(dir, rel), {withFileTypes: true})
    } catch (err) {
      // a directory below the top that went while the tree was read (CRIU's scratch mount point, transfer.ts)
      const code = (err as NodeJS.ErrnoException).code
      if (rel && (code === 'ENOENT' || code === 'ENOTDIR')) return
      throw err
    }
    for (const e of entries) {
      const child = rel ? `${rel}/${e.name}` : e.name
      out.push(child)
      if (e.isDirectory()) await walk(child)
    }
  }
  await walk('')
  return out.sort()
}
