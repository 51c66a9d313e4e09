import t from 'tap';
import * as fsp from 'node:fs/promises';
import { mkdtemp, readdir, readFile, rm, stat, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, type AtomicWriteDeps } from '../../../src/tls/atomic-write.js';

async function dir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'corproxy-atomic-'));
  t.teardown(() => rm(d, { recursive: true, force: true }));
  return d;
}

const errno = (code: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: injected`), { code });

/** Real fs with one call replaced. */
function failing(over: Partial<NonNullable<AtomicWriteDeps['fs']>>): AtomicWriteDeps['fs'] {
  return { lstat: fsp.lstat, open: fsp.open, rename: fsp.rename, unlink: fsp.unlink, ...over };
}

t.test('writes a new file with exactly the mode asked', async (t) => {
  const d = await dir(t);
  const target = join(d, 'ca-bundle.pem');
  await writeFileAtomic(target, 'first\n', 0o644);
  t.equal(await readFile(target, 'utf8'), 'first\n');
  t.equal((await stat(target)).mode & 0o777, 0o644);
  await writeFileAtomic(target, Buffer.from('second\n'), 0o600);
  t.equal(await readFile(target, 'utf8'), 'second\n', 'replaced');
  t.equal((await stat(target)).mode & 0o777, 0o600, 'umask does not apply');
  t.same(await readdir(d), ['ca-bundle.pem'], 'no temporary file left');
});

t.test('refuses a symlink target and leaves the link alone', async (t) => {
  const d = await dir(t);
  const real = join(d, 'elsewhere.pem');
  await writeFile(real, 'keep');
  const link = join(d, 'ca-bundle.pem');
  await symlink(real, link);
  await t.rejects(writeFileAtomic(link, 'evil', 0o644), {
    code: 'CPX_ERR_BUNDLE_WRITE',
    message: /symlink/,
  });
  t.equal(await readFile(real, 'utf8'), 'keep');
});

t.test('refuses a directory target', async (t) => {
  const d = await dir(t);
  await mkdir(join(d, 'ca-bundle.pem'));
  await t.rejects(writeFileAtomic(join(d, 'ca-bundle.pem'), 'x', 0o644), {
    code: 'CPX_ERR_BUNDLE_WRITE',
    message: /not a regular file/,
  });
});

t.test('a missing directory', async (t) => {
  const d = await dir(t);
  await t.rejects(writeFileAtomic(join(d, 'no', 'such', 'ca-bundle.pem'), 'x', 0o644), {
    code: 'CPX_ERR_BUNDLE_WRITE',
    message: /ENOENT/,
  });
});

t.test('a failed rename keeps the old file and removes the temporary one', async (t) => {
  const d = await dir(t);
  const target = join(d, 'ca-bundle.pem');
  await writeFile(target, 'old');
  const fs = failing({ rename: async () => Promise.reject(errno('EXDEV')) });
  await t.rejects(writeFileAtomic(target, 'new', 0o644, { fs }), {
    code: 'CPX_ERR_BUNDLE_WRITE',
    message: /EXDEV/,
  });
  t.equal(await readFile(target, 'utf8'), 'old');
  t.same(await readdir(d), ['ca-bundle.pem']);
});

t.test('an existing temporary name is not overwritten nor removed', async (t) => {
  const d = await dir(t);
  const target = join(d, 'ca-bundle.pem');
  const squatter = join(d, '.ca-bundle.pem.fixed.tmp');
  await writeFile(squatter, 'not ours');
  await t.rejects(writeFileAtomic(target, 'x', 0o644, { suffix: () => 'fixed' }), {
    code: 'CPX_ERR_BUNDLE_WRITE',
    message: /EEXIST/,
  });
  t.equal(await readFile(squatter, 'utf8'), 'not ours');
});

t.test('lstat errors other than ENOENT', async (t) => {
  const d = await dir(t);
  const fs = failing({ lstat: async () => Promise.reject(errno('EACCES')) });
  await t.rejects(writeFileAtomic(join(d, 'b.pem'), 'x', 0o644, { fs }), {
    code: 'CPX_ERR_BUNDLE_WRITE',
    message: /EACCES/,
  });
});

t.test('directory fsync', async (t) => {
  const d = await dir(t);
  const target = join(d, 'b.pem');
  const dirOpen = (code: string): AtomicWriteDeps['fs'] =>
    failing({
      open: (async (path: string, flags: string, mode?: number) =>
        path === d ? Promise.reject(errno(code)) : fsp.open(path, flags, mode)) as typeof fsp.open,
    });
  await writeFileAtomic(target, 'a', 0o644, { fs: dirOpen('EISDIR') });
  t.equal(await readFile(target, 'utf8'), 'a', 'platforms without directory fsync still write');
  await t.rejects(writeFileAtomic(target, 'b', 0o644, { fs: dirOpen('EIO') }), {
    code: 'CPX_ERR_BUNDLE_WRITE',
    message: /EIO/,
  });
});
