/**
 * Writes a file so readers see the old or the new content, never a mix: a temporary file
 * created exclusively (`wx`) in the same directory, fsync, rename over the target (atomic
 * on POSIX), then fsync of the directory so the rename survives a crash.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CorproxyError } from '../errors.js';

/** The file-system calls used, injectable so tests can make each one fail. */
export interface AtomicWriteDeps {
  readonly fs?: Pick<typeof fsp, 'lstat' | 'open' | 'rename' | 'unlink'>;
  /** Suffix of the temporary file name; random by default. */
  readonly suffix?: () => string;
}

/** Directory fsync is not possible on every platform (Windows): these errors are not fatal. */
const DIR_SYNC_UNSUPPORTED = new Set(['EISDIR', 'EPERM', 'EINVAL', 'EBADF', 'EACCES']);

/**
 * Atomically replaces `target` with `data` and sets `mode` (umask does not apply).
 * Refuses a symlink or non-regular file at `target`. Throws CPX_ERR_BUNDLE_WRITE.
 */
export async function writeFileAtomic(
  target: string,
  data: string | Buffer,
  mode: number,
  deps: AtomicWriteDeps = {},
): Promise<void> {
  const fs = deps.fs ?? fsp;
  await refuseNonRegular(target, fs);
  const dir = dirname(target);
  const suffix = deps.suffix?.() ?? `${process.pid}.${randomBytes(6).toString('hex')}`;
  const tmp = join(dir, `.${basename(target)}.${suffix}.tmp`);
  let handle: fsp.FileHandle | undefined;
  let created = false;
  try {
    handle = await fs.open(tmp, 'wx', mode);
    created = true;
    await handle.writeFile(data);
    await handle.chmod(mode);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, target);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    // Only our own temporary file is removed: 'wx' fails when the name already exists.
    if (created) await fs.unlink(tmp).catch(() => undefined);
    throw writeError(target, err);
  }
  await syncDir(dir, fs, target);
}

async function refuseNonRegular(target: string, fs: NonNullable<AtomicWriteDeps['fs']>) {
  let stat;
  try {
    stat = await fs.lstat(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw writeError(target, err);
  }
  if (stat.isSymbolicLink()) {
    throw new CorproxyError(
      'CPX_ERR_BUNDLE_WRITE',
      `${target} is a symlink; corproxy does not write through symlinks (remove it or choose another trust.bundle path)`,
    );
  }
  if (!stat.isFile()) {
    throw new CorproxyError('CPX_ERR_BUNDLE_WRITE', `${target} exists and is not a regular file`);
  }
}

async function syncDir(dir: string, fs: NonNullable<AtomicWriteDeps['fs']>, target: string) {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    if (!DIR_SYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) {
      throw writeError(target, err);
    }
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

function writeError(target: string, err: unknown): CorproxyError {
  const e = err as NodeJS.ErrnoException;
  const why = e.code ? `${e.code}: ${e.message}` : String(e.message ?? err);
  return new CorproxyError('CPX_ERR_BUNDLE_WRITE', `cannot write ${target} (${why})`, {
    cause: err,
  });
}
