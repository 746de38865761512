import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CfkitError, IOError } from '../errors';

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // it exists, under another user
  }
}

/**
 * Removes temporary files that earlier writes of `target` left behind when their process was killed
 * (kill -9 between open and rename): `.<name>.<pid>.<8 hex>.tmp` beside it whose pid is no longer
 * running. Files of live processes, this one included, are left alone. Best effort.
 */
export async function removeStaleTemporaries(target: string): Promise<string[]> {
  const dir = path.dirname(path.resolve(target));
  const base = path.basename(target);
  const removed: string[] = [];
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return removed;
  }
  const prefix = `.${base}.`;
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processIsAlive(pid)) continue;
    const file = path.join(dir, name);
    if (await fs.promises.unlink(file).then(() => true, () => false)) removed.push(file);
  }
  return removed;
}

/**
 * Writes a file so that readers see either the old file or the complete new one: the data goes to a
 * temporary file in the same directory, is fsynced, then renamed over the target, and the directory
 * is fsynced. On any failure the temporary file is removed and the old file is untouched; errors
 * from the file system become IOError, a CfkitError from `write` is rethrown as it is. Temporary
 * files of the same target left by killed processes are removed first (removeStaleTemporaries).
 */
export async function writeFileAtomic(target: string, write: (fd: fs.promises.FileHandle) => Promise<void>): Promise<void> {
  const dir = path.dirname(path.resolve(target));
  await removeStaleTemporaries(target);
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(tmp, 'wx', 0o644);
    await write(handle);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.promises.rename(tmp, target);
  } catch (err) {
    if (handle) await handle.close().catch(() => undefined);
    await fs.promises.unlink(tmp).catch(() => undefined);
    if (err instanceof CfkitError) throw err;  // the writer's own (an abort, bad input) keeps its code
    throw new IOError(`could not write ${target}: ${(err as Error).message}`, { cause: err });
  }
  // Persist the rename itself; some filesystems refuse fsync on directories, which is harmless.
  try {
    const d = await fs.promises.open(dir, 'r');
    await d.sync().catch(() => undefined);
    await d.close();
  } catch {
    /* directory fsync is best effort */
  }
}

/** Writes all of buf at the current position, looping over short writes. */
export async function writeAll(fd: fs.promises.FileHandle, buf: Uint8Array): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fd.write(buf, off, Math.min(buf.length - off, 64 << 20));
    off += bytesWritten;
  }
}
