/** `go env -json` and `git config`, through a fake runner and one real child process. */
import t from 'tap';
import {
  gitHttpConfig,
  goEnvJson,
  runProgram,
  type RunProgram,
} from '../../../src/doctor/external.js';

const fake =
  (code: number | null, stdout: string, seen: unknown[] = []): RunProgram =>
  (file, args, env) => {
    seen.push([file, args, env]);
    return Promise.resolve({ code, stdout });
  };

t.test('go env -json', async (t) => {
  const seen: unknown[] = [];
  const env = { GOPROXY: 'https://a.test', PATH: '/bin' };
  const out = await goEnvJson(
    env,
    fake(0, '{"GOPROXY":"https://a.test","GOVERSION":"go1.22.0","X":1}', seen),
  );
  t.same(out, { GOPROXY: 'https://a.test', GOVERSION: 'go1.22.0' }, 'strings only');
  t.match(
    seen[0],
    ['go', ['env', '-json', 'GOPROXY', 'GOSUMDB'], env],
    'runs with the given environment',
  );
  t.equal(await goEnvJson(env, fake(1, '')), undefined, 'go failed');
  t.equal(await goEnvJson(env, fake(0, 'not json')), undefined);
  t.equal(await goEnvJson(env, fake(0, 'null')), undefined);
  t.equal(await goEnvJson(env, () => Promise.resolve(undefined)), undefined, 'not installed');
});

t.test('git config', async (t) => {
  const out = await gitHttpConfig(
    {},
    fake(0, 'http.proxy http://127.0.0.1:3129\nhttp.sslcainfo /etc/corp.pem\n\n'),
  );
  t.same(out, { 'http.proxy': 'http://127.0.0.1:3129', 'http.sslcainfo': '/etc/corp.pem' });
  t.same(await gitHttpConfig({}, fake(1, '')), {}, 'exit 1: nothing set');
  t.equal(await gitHttpConfig({}, fake(128, '')), undefined, 'git failed');
  t.equal(await gitHttpConfig({}, () => Promise.resolve(undefined)), undefined);
});

t.test('a real child: output, a missing program, a time limit', async (t) => {
  const node = process.execPath;
  const ok = await runProgram(
    node,
    ['-e', 'process.stdout.write(process.env.DOCTOR_TEST ?? "")'],
    { DOCTOR_TEST: 'hello', X: undefined },
    10_000,
  );
  t.same(ok, { code: 0, stdout: 'hello' }, 'the environment given, nothing else needed');
  t.equal(await runProgram('/nonexistent/corproxy-no-such-program', [], {}, 10_000), undefined);
  const started = Date.now();
  t.equal(
    await runProgram(node, ['-e', 'setTimeout(() => {}, 60000)'], {}, 200),
    undefined,
    'killed after the limit',
  );
  t.ok(Date.now() - started < 5_000, 'bounded');
});
