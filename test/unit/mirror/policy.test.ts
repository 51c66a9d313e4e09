import t from 'tap';
import {
  cacheKey,
  isFresh,
  isImmutable,
  latestOf,
  matchesPrivate,
  mergeVersionLists,
  parseList,
} from '../../../src/mirror/policy.js';
import type { MirrorRequest } from '../../../src/mirror/request.js';

function req(kind: MirrorRequest['kind'], extra: Partial<MirrorRequest> = {}): MirrorRequest {
  return { kind, module: 'example.test/m', upstreamPath: 'example.test/m/@v/x', ...extra };
}

t.test('private globs match leading path elements like module.MatchPrefixPatterns', async (t) => {
  const globs = ['*.corp.test', 'github.com/corp', 'example.test/a/*/c/'];
  t.equal(matchesPrivate(globs, 'git.corp.test/x/y'), '*.corp.test');
  t.equal(matchesPrivate(globs, 'github.com/corp/lib'), 'github.com/corp');
  t.equal(matchesPrivate(globs, 'github.com/corp'), 'github.com/corp');
  t.equal(matchesPrivate(globs, 'example.test/a/b/c/d'), 'example.test/a/*/c/');
  t.equal(matchesPrivate(globs, 'corp.test/x'), undefined, '*.corp.test needs a subdomain');
  t.equal(matchesPrivate(globs, 'github.com/corpo/lib'), undefined);
  t.equal(matchesPrivate(globs, 'example.test/a/b'), undefined, 'too few elements');
  t.equal(matchesPrivate(['', '[bad', 'x.test'], 'x.test/m'), 'x.test', 'bad globs match nothing');
  t.equal(matchesPrivate([], 'x.test/m'), undefined);
});

t.test('immutable: canonical .info/.mod/.zip, tiles and lookups', async (t) => {
  for (const kind of ['info', 'mod', 'zip'] as const) {
    t.ok(isImmutable(req(kind, { version: 'v1.2.3' })), kind);
    t.notOk(isImmutable(req(kind, { version: 'master' })), `${kind}@master`);
  }
  t.ok(isImmutable(req('sumdb-tile', { sumdb: 's.test' })));
  t.ok(isImmutable(req('sumdb-lookup', { sumdb: 's.test' })));
  for (const kind of ['list', 'latest', 'sumdb-latest', 'sumdb-supported'] as const) {
    t.notOk(isImmutable(req(kind)), kind);
  }
});

t.test('cache keys separate module proxies and each checksum database', async (t) => {
  t.equal(
    cacheKey(req('zip', { upstreamPath: 'a.test/m/@v/v1.0.0.zip' })),
    'mod/a.test/m/@v/v1.0.0.zip',
  );
  t.equal(
    cacheKey({ kind: 'sumdb-tile', sumdb: 's.test', upstreamPath: 'tile/8/0/000' }),
    'sumdb/s.test/tile/8/0/000',
  );
  t.equal(
    cacheKey({ kind: 'sumdb-supported', sumdb: 's.test', upstreamPath: 'supported' }),
    undefined,
  );
});

t.test('freshness: immutable forever, mutable for the TTL', async (t) => {
  const zip = req('zip', { version: 'v1.0.0' });
  t.ok(isFresh(zip, 0, 1e12, 60_000));
  t.ok(isFresh(req('list'), 1000, 60_999, 60_000));
  t.notOk(isFresh(req('list'), 1000, 61_000, 60_000));
});

t.test('offline list merges the last list with cached versions', async (t) => {
  t.same(parseList('v1.0.0\n\n v1.1.0 \n'), ['v1.0.0', 'v1.1.0']);
  t.same(mergeVersionLists(['v1.1.0', 'v1.0.0'], ['v1.0.0', 'v1.2.0-rc.1', 'v0.9.0']), [
    'v0.9.0',
    'v1.0.0',
    'v1.1.0',
    'v1.2.0-rc.1',
  ]);
  t.same(mergeVersionLists([], []), []);
});

t.test('offline @latest: highest release, else highest prerelease', async (t) => {
  t.equal(latestOf(['v1.0.0', 'v1.10.0', 'v1.2.0', 'v2.0.0-rc.1']), 'v1.10.0');
  t.equal(latestOf(['v1.0.0-a', 'v1.0.0-b']), 'v1.0.0-b');
  t.equal(latestOf(['junk']), undefined);
  t.equal(latestOf([]), undefined);
});
