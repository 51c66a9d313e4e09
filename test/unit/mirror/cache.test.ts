import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import t from 'tap';
import { MirrorCache } from '../../../src/mirror/cache.js';
import { nodeDisk, type Disk } from '../../../src/mirror/disk.js';
import type { TeardownTest } from '../../support/tools.js';

async function tempDir(t: TeardownTest): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'corproxy-mcache-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'mod-cache');
}

function sha(body: string): string {
  return createHash('sha256').update(body).digest('hex');
}

function blobFile(dir: string, body: string): string {
  const h = sha(body);
  return join(dir, 'blobs', h.slice(0, 2), h);
}

t.test('put then get, across a reopen, content-addressed and deduplicated', async (t) => {
  const dir = await tempDir(t);
  let now = 1000;
  const cache = await MirrorCache.open({ dir, maxBytes: 1 << 20 }, { clock: () => now });
  t.equal(await cache.get('mod/a'), undefined, 'miss');
  t.equal(await cache.put('mod/a', Buffer.from('hello')), true);
  now = 2000;
  t.equal(await cache.put('mod/b', Buffer.from('hello')), true, 'same body, second key');
  t.same(cache.stats(), { entries: 2, bytes: 5, maxBytes: 1 << 20, evictions: 0, corrupt: 0 });
  t.equal((await readFile(blobFile(dir, 'hello'))).toString(), 'hello', 'blob named by its hash');
  const hit = await cache.get('mod/a');
  t.equal(hit?.body.toString(), 'hello');
  t.equal(hit?.storedAt, 1000);
  t.same(cache.keys('mod/'), ['mod/a', 'mod/b']);
  t.same(cache.keys('sumdb/'), []);

  const again = await MirrorCache.open({ dir, maxBytes: 1 << 20 });
  t.equal((await again.get('mod/b'))?.body.toString(), 'hello', 'persisted');
  t.equal(again.stats().entries, 2);
});

t.test('replacing a key drops the old blob when nothing else uses it', async (t) => {
  const dir = await tempDir(t);
  const cache = await MirrorCache.open({ dir, maxBytes: 1 << 20 });
  await cache.put('mod/list', Buffer.from('v1.0.0\n'));
  await cache.put('mod/list', Buffer.from('v1.0.0\nv1.1.0\n'));
  t.equal((await cache.get('mod/list'))?.body.toString(), 'v1.0.0\nv1.1.0\n');
  await t.rejects(readFile(blobFile(dir, 'v1.0.0\n')), { code: 'ENOENT' });
  t.equal(cache.stats().bytes, 14);
});

t.test('LRU eviction keeps the total under the cap', async (t) => {
  const dir = await tempDir(t);
  let now = 0;
  const cache = await MirrorCache.open({ dir, maxBytes: 25 }, { clock: () => ++now });
  await cache.put('k1', Buffer.alloc(10, 1));
  await cache.put('k2', Buffer.alloc(10, 2));
  await cache.get('k1'); // k2 is now the least recently used
  await cache.put('k3', Buffer.alloc(10, 3));
  t.same(cache.keys('k').sort(), ['k1', 'k3']);
  t.equal(cache.stats().evictions, 1);
  t.ok(cache.stats().bytes <= 25);
  t.equal(await cache.put('huge', Buffer.alloc(26)), false, 'larger than the cap: not stored');
  t.equal(await cache.get('huge'), undefined);

  const smaller = await MirrorCache.open({ dir, maxBytes: 10 });
  t.equal(smaller.stats().entries, 1, 'a lower cap evicts on open');
});

t.test('a corrupted or missing blob is detected on read and dropped', async (t) => {
  const dir = await tempDir(t);
  const warnings: string[] = [];
  const cache = await MirrorCache.open(
    { dir, maxBytes: 1 << 20 },
    { warn: (m) => warnings.push(m) },
  );
  await cache.put('mod/z', Buffer.from('zipdata'));
  await cache.put('mod/z2', Buffer.from('zipdata'));
  await writeFile(blobFile(dir, 'zipdata'), 'zipdatX');
  t.equal(await cache.get('mod/z'), undefined, 'corruption is a miss');
  t.equal(cache.stats().corrupt, 1);
  t.equal(await cache.get('mod/z2'), undefined, 'every key of that blob is dropped');
  t.equal(cache.stats().entries, 0);
  t.match(warnings.join('\n'), /corrupted/);
  t.ok(await cache.put('mod/z', Buffer.from('zipdata')), 'stored again');
  t.equal((await cache.get('mod/z'))?.body.toString(), 'zipdata');

  await rm(blobFile(dir, 'zipdata'));
  t.equal(await cache.get('mod/z'), undefined, 'a vanished blob is a miss too');
});

t.test('open removes debris: temporary files, orphan blobs, entries without blobs', async (t) => {
  const dir = await tempDir(t);
  const cache = await MirrorCache.open({ dir, maxBytes: 1 << 20 });
  await cache.put('keep', Buffer.from('keep'));
  await cache.put('lost', Buffer.from('lost'));
  await rm(blobFile(dir, 'lost'));
  const orphan = blobFile(dir, 'orphan');
  await mkdir(join(orphan, '..'), { recursive: true });
  await writeFile(orphan, 'orphan');
  await writeFile(join(dir, '.tmp-index.json.abc'), 'partial');
  const reopened = await MirrorCache.open({ dir, maxBytes: 1 << 20 });
  t.same(reopened.keys(''), ['keep']);
  await t.rejects(readFile(orphan), { code: 'ENOENT' });
  t.notOk(
    (await readdir(dir)).some((n) => n.startsWith('.tmp-')),
    'temporary file removed',
  );
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
    entries: Array<{ key: string }>;
  };
  t.same(
    index.entries.map((e) => e.key),
    ['keep'],
    'index rewritten',
  );
});

t.test('an unreadable or invalid index starts empty with a warning', async (t) => {
  const dir = await tempDir(t);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'index.json'), '{not json');
  const warnings: string[] = [];
  const cache = await MirrorCache.open({ dir, maxBytes: 100 }, { warn: (m) => warnings.push(m) });
  t.equal(cache.stats().entries, 0);
  t.match(warnings[0], /not valid JSON/);

  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({ version: 1, entries: [{ key: 'x', sha256: 'nothex' }, null] }),
  );
  t.equal((await MirrorCache.open({ dir, maxBytes: 100 })).stats().entries, 0, 'bad entries');

  const failing: Disk = {
    ...nodeDisk,
    readFile: async (f) => {
      if (f.endsWith('index.json')) throw Object.assign(new Error('EIO boom'), { code: 'EIO' });
      return nodeDisk.readFile(f);
    },
  };
  const w2: string[] = [];
  await MirrorCache.open({ dir, maxBytes: 100 }, { disk: failing, warn: (m) => w2.push(m) });
  t.match(w2[0], /unreadable.*EIO boom/);
});

t.test('write failures surface to the caller and leave the cache consistent', async (t) => {
  const dir = await tempDir(t);
  let fail = false;
  const disk: Disk = {
    ...nodeDisk,
    writeAtomic: async (f, d) => {
      if (fail) throw new Error('ENOSPC: no space left');
      return nodeDisk.writeAtomic(f, d);
    },
  };
  const cache = await MirrorCache.open({ dir, maxBytes: 1 << 20 }, { disk });
  fail = true;
  await t.rejects(cache.put('k', Buffer.from('body')), /ENOSPC/);
  t.equal(cache.stats().entries, 0, 'nothing indexed when the blob write failed');
  fail = false;
  t.ok(await cache.put('k', Buffer.from('body')));
  t.equal((await cache.get('k'))?.body.toString(), 'body');
});
