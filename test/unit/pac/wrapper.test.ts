import t, { type Test } from 'tap';
import { parsePacAnswer } from '../../../src/pac/answer.js';
import { PacEngine } from '../../../src/pac/engine.js';
import { PAC_CONTENT_TYPE, wrapperPac } from '../../../src/pac/wrapper.js';

async function evaluate(t: Test, script: string, host: string): Promise<string> {
  const engine = await PacEngine.compile(script, 'wrapper.pac', {
    lookup4: async () => null,
    myIp: () => '192.0.2.1',
    alert: () => undefined,
    now: Date.now,
  });
  t.teardown(() => engine.dispose());
  return engine.answer(`https://${host.includes(':') ? `[${host}]` : host}/`, host);
}

t.test('everything but the local machine goes to corproxy', async (t) => {
  const script = wrapperPac('127.0.0.1', 3129, '1.2.3');
  t.match(script, /corproxy 1\.2\.3/);
  t.equal(await evaluate(t, script, 'proxy.golang.org'), 'PROXY 127.0.0.1:3129');
  t.equal(await evaluate(t, script, 'intranet'), 'PROXY 127.0.0.1:3129');
  for (const local of ['localhost', '127.0.0.1', '127.8.9.1', '::1', 'app.localhost']) {
    t.equal(await evaluate(t, script, local), 'DIRECT', local);
  }
  t.equal(PAC_CONTENT_TYPE, 'application/x-ns-proxy-autoconfig');
});

t.test('an IPv6 listener is bracketed and parses back', async (t) => {
  const answer = await evaluate(t, wrapperPac('::1', 4000, 'x'), 'example.org');
  t.equal(answer, 'PROXY [::1]:4000');
  t.same(parsePacAnswer(answer).entries, [
    { kind: 'proxy', protocol: 'http:', host: '::1', port: 4000 },
  ]);
});
