import t from 'tap';
import { parseMirrorPath } from '../../../src/mirror/request.js';

const DBS = ['sum.golang.org', 'sum.corp.test/db'];

function ok(path: string): Record<string, unknown> {
  const r = parseMirrorPath(path, DBS);
  if (!r.ok) throw new Error(`${path}: ${r.reason}`);
  return { ...r.request };
}

t.test('module proxy paths', async (t) => {
  t.same(ok('/mod/github.com/!azure/go/@v/list'), {
    kind: 'list',
    module: 'github.com/Azure/go',
    upstreamPath: 'github.com/!azure/go/@v/list',
  });
  t.same(ok('/mod/example.test/m/@latest'), {
    kind: 'latest',
    module: 'example.test/m',
    upstreamPath: 'example.test/m/@latest',
  });
  for (const ext of ['info', 'mod', 'zip']) {
    t.same(ok(`/mod/example.test/m/v2/@v/v2.0.0-!r!c1.${ext}`), {
      kind: ext,
      module: 'example.test/m/v2',
      version: 'v2.0.0-RC1',
      upstreamPath: `example.test/m/v2/@v/v2.0.0-!r!c1.${ext}`,
    });
  }
  t.equal(ok('/mod/example.test/m/@v/v1.0.0%2Bincompatible.info').version, 'v1.0.0+incompatible');
});

t.test('checksum database paths for configured names only', async (t) => {
  t.same(ok('/mod/sumdb/sum.golang.org/supported'), {
    kind: 'sumdb-supported',
    sumdb: 'sum.golang.org',
    upstreamPath: 'supported',
  });
  t.equal(ok('/mod/sumdb/sum.golang.org/latest').kind, 'sumdb-latest');
  t.same(ok('/mod/sumdb/sum.golang.org/lookup/github.com/!azure/go@v1.0.0'), {
    kind: 'sumdb-lookup',
    sumdb: 'sum.golang.org',
    module: 'github.com/Azure/go',
    version: 'v1.0.0',
    upstreamPath: 'lookup/github.com/!azure/go@v1.0.0',
  });
  for (const tile of [
    'tile/8/0/000',
    'tile/8/1/x001/234',
    'tile/8/data/x001/x234/067.p/13',
    'tile/8/2/000.p/1',
  ]) {
    t.equal(ok(`/mod/sumdb/sum.golang.org/${tile}`).kind, 'sumdb-tile', tile);
  }
  t.same(ok('/mod/sumdb/sum.corp.test/db/latest'), {
    kind: 'sumdb-latest',
    sumdb: 'sum.corp.test/db',
    upstreamPath: 'latest',
  });
});

t.test('refusals: 404 for unknown shapes and databases, 400 for invalid encodings', async (t) => {
  const table: Array<[string, number, RegExp]> = [
    ['/other', 404, /not under/],
    ['/mod/', 404, /not a module proxy path/],
    ['/mod/example.test/m', 404, /not a module proxy path/],
    ['/mod/example.test/m/@v/v1.0.0.txt', 404, /not a module proxy path/],
    ['/mod/example.test/m/@v/', 404, /not a module proxy path/],
    ['/mod/Example.test/m/@v/list', 400, /invalid escaped module path/],
    ['/mod/nodot/m/@v/list', 400, /missing dot/],
    ['/mod/example.test/m/@v/V1.0.0.info', 400, /invalid escaped version/],
    ['/mod/example.test/m/@v/..%2F..%2Fetc.info', 400, /percent-encoding/],
    ['/mod/example.test/%E0%A4%A/@v/list', 400, /percent-encoding/],
    ['/mod/sumdb/sum.evil.test/latest', 404, /"sum.evil.test" is not configured/],
    ['/mod/sumdb/sum.golang.org/tile/8/0/1', 404, /not a checksum database path/],
    ['/mod/sumdb/sum.golang.org/tile/8/0/../000', 404, /not a checksum database path/],
    ['/mod/sumdb/sum.golang.org/lookup/nodot@v1.0.0', 400, /missing dot/],
    ['/mod/sumdb/sum.golang.org/lookup/example.test/m@V1', 400, /invalid escaped version/],
    ['/mod/sumdb/sum.golang.org/lookup/example.test/m', 404, /not a checksum database path/],
  ];
  for (const [path, status, reason] of table) {
    const r = parseMirrorPath(path, DBS);
    t.equal(r.ok, false, path);
    if (!r.ok) {
      t.equal(r.status, status, `${path} status`);
      t.match(r.reason, reason, `${path} reason`);
    }
  }
});
