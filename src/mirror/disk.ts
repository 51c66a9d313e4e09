/**
 * The file-system calls of the mirror cache, behind one interface so tests can make any
 * of them fail. Writes are atomic: an exclusive temporary file in the same directory,
 * fsync, rename over the target, then a best-effort fsync of the directory, so a reader
 * (or a crash) sees the old content or the new, never a torn file.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface Disk {
  writeAtomic(file: string, data: Buffer | string): Promise<void>;
  readFile(file: string): Promise<Buffer>;
  unlink(file: string): Promise<void>;
  /** Names in a directory; [] when it does not exist. */
  list(dir: string): Promise<string[]>;
  mkdir(dir: string): Promise<void>;
}

/** Prefix of temporary files: anything with it in the cache is debris of a crash. */
export const TMP_PREFIX = '.tmp-';

async function writeAtomic(file: string, data: Buffer | string): Promise<void> {
  const dir = dirname(file);
  const tmp = join(dir, `${TMP_PREFIX}${basename(file)}.${randomBytes(6).toString('hex')}`);
  const handle = await fsp.open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fsp.unlink(tmp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  try {
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.unlink(tmp).catch(() => undefined);
    throw err;
  }
  // Makes the rename durable; not every platform can open a directory for fsync.
  const dirHandle = await fsp.open(dir, 'r').catch(() => undefined);
  await dirHandle?.sync().catch(() => undefined);
  await dirHandle?.close().catch(() => undefined);
}

async function list(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export const nodeDisk: Disk = {
  writeAtomic,
  readFile: (file) => fsp.readFile(file),
  unlink: (file) => fsp.unlink(file),
  list,
  mkdir: async (dir) => {
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  },
};
