import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { IOError } from '../errors';

/**
 * Writes a file so that readers see either the old file or the complete new one: the data goes to a
 * temporary file in the same directory, is fsynced, then renamed over the target, and the directory
 * is fsynced. On any failure the temporary file is removed and the old file is untouched.
 */
export async function writeFileAtomic(target: string, write: (fd: fs.promises.FileHandle) => Promise<void>): Promise<void> {
  const dir = path.dirname(path.resolve(target));
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
