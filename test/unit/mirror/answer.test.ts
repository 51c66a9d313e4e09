import t from 'tap';
import { failed, notFound, ok, stale } from '../../../src/mirror/answer.js';
import { errorReply, MirrorError, toFailure } from '../../../src/mirror/errors.js';
import { CorproxyError } from '../../../src/errors.js';

const list = {
  kind: 'list' as const,
  module: 'example.test/m',
  upstreamPath: 'example.test/m/@v/list',
};

t.test('served answers carry type, cache outcome and a log line', async (t) => {
  const a = ok(list, Buffer.from('v1.0.0\n'), 'hit');
  t.equal(a.status, 200);
  t.same(a.headers, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Corproxy-Cache': 'hit' });
  t.match(a.result, {
    status: 200,
    bytes: 7,
    cache: 'hit',
    kind: 'list',
    module: 'example.test/m',
    rule: 'mirror list hit',
  });
});

t.test('stale answers: Warning header with only printable ASCII', async (t) => {
  const why = {
    code: 'CPX_ERR_MIRROR_UPSTREAM',
    status: 502,
    message: 'GET x: 500 (kaputt — "ünavailable"\\)\r\n',
  };
  const a = stale(list, Buffer.from('v1\n'), why);
  t.match(
    a.headers.Warning,
    /^110 corproxy "Response is Stale: upstream failed: GET x: 500 \(kaputt/,
  );
  const warning = a.headers.Warning ?? '';
  t.match(warning, /^[\x20-\x7e]+$/, 'printable ASCII only');
  const inner = /^110 corproxy "(.*)"$/.exec(warning)?.[1];
  t.match(inner, /^Response is Stale/);
  t.notMatch(inner, /["\\]/, 'no quote or backslash inside the quoted text');
  t.equal(a.headers['X-Corproxy-Stale'], 'CPX_ERR_MIRROR_UPSTREAM');
  t.equal(a.result.cache, 'stale');
});

t.test("not-found passes upstream's body on, capped", async (t) => {
  const a = notFound(list, {
    kind: 'not-found',
    status: 410,
    body: Buffer.alloc(10_000, 'x'),
    upstream: 'https://a.test',
  });
  t.equal(a.status, 410);
  t.equal(a.body.length, 4096);
  t.match(a.result, { upstream: 'https://a.test', cache: 'miss' });
});

t.test('refusals: status from the code, reason in the body, error in the result', async (t) => {
  const a = failed(new MirrorError('CPX_ERR_MIRROR_PRIVATE', 'git.corp.test/x is private'), list);
  t.equal(a.status, 404);
  t.equal(a.headers['X-Corproxy-Error'], 'CPX_ERR_MIRROR_PRIVATE');
  t.match(
    a.body.toString(),
    /^corproxy mirror: git\.corp\.test\/x is private\nCPX_ERR_MIRROR_PRIVATE: see docs\/errors\.md#cpx_err_mirror_private\n$/,
  );
  t.match(a.result, {
    status: 404,
    cache: 'bypass',
    error: { code: 'CPX_ERR_MIRROR_PRIVATE' },
    rule: 'mirror list refused',
  });
  t.match(failed({ code: 'CPX_ERR_BAD_REQUEST', status: 405, message: 'no' }).result, {
    rule: 'mirror request refused',
  });
});

t.test('toFailure keeps route codes and wraps anything else', async (t) => {
  t.same(toFailure(new CorproxyError('CPX_ERR_UPSTREAM_AUTH', 'needs 407')), {
    code: 'CPX_ERR_UPSTREAM_AUTH',
    message: 'needs 407',
    status: 502,
  });
  t.same(toFailure(new Error('socket hang up')), {
    code: 'CPX_ERR_MIRROR_UPSTREAM',
    message: 'socket hang up',
    status: 502,
  });
  t.same(toFailure('weird'), {
    code: 'CPX_ERR_MIRROR_UPSTREAM',
    message: 'unknown failure',
    status: 502,
  });
  t.equal(
    errorReply({ code: 'X', status: 500, message: 'a\nb' }).body.split('\n')[0],
    'corproxy mirror: a b',
  );
});
