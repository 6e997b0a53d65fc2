import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** Writes a file only its owner can read (rendered values, settings), atomically. */
export function writePrivateFile(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
  const tmp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(tmp, content, { mode: 0o600 })
  fs.chmodSync(tmp, 0o600)
  fs.renameSync(tmp, file)
}

const tempDirs = new Map<string, string>()

/**
 * A directory only this user can enter (mode 700), made once per prefix and process under `base`
 * (default: the system's temporary directory), removed with everything in it when the process exits.
 */
export function privateTempDir(prefix: string, base = os.tmpdir()): string {
  let dir = tempDirs.get(prefix)
  if (!dir) {
    dir = fs.mkdtempSync(path.join(base, prefix))
    fs.chmodSync(dir, 0o700)
    tempDirs.set(prefix, dir)
    const d = dir
    process.once('exit', () => fs.rmSync(d, { recursive: true, force: true }))
  }
  return dir
}
