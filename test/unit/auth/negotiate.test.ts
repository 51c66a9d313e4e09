import t from 'tap';
import {
  importFailure,
  kerberosProvider,
  loadKerberos,
  negotiateHint,
  NegotiateLoader,
  servicePrincipal,
  type GssLoad,
} from '../../../src/auth/negotiate.js';

/** A stand-in for the `kerberos` package recording what it was asked. */
function fakeKerberos() {
  const calls: Array<{ service: string; options: unknown }> = [];
  return {
    calls,
    GSS_MECH_OID_SPNEGO: 6,
    initializeClient: async (service: string, options?: unknown) => {
      calls.push({ service, options });
      return { step: async (token: string) => `reply-to:${token}` };
    },
  };
}

t.test('the SPN is HTTP@host for GSSAPI and HTTP/host for SSPI', async (t) => {
  t.equal(servicePrincipal('proxy.corp.test', 'linux'), 'HTTP@proxy.corp.test');
  t.equal(servicePrincipal('proxy.corp.test', 'darwin'), 'HTTP@proxy.corp.test');
  t.equal(servicePrincipal('proxy.corp.test', 'win32'), 'HTTP/proxy.corp.test');
});

t.test('loadKerberos: a working package gives a provider using SPNEGO', async (t) => {
  const mod = fakeKerberos();
  const load = await loadKerberos(async (name) => {
    t.equal(name, 'kerberos');
    return mod;
  }, 'linux');
  if (!load.ok) throw new Error('expected a provider');
  const client = await load.provider.client('proxy.corp.test');
  t.equal(await client.step(''), 'reply-to:');
  t.same(mod.calls, [{ service: 'HTTP@proxy.corp.test', options: { mechOID: 6 } }]);
  const viaDefault = await loadKerberos(async () => ({ default: mod }), 'win32');
  t.ok(viaDefault.ok, 'a CommonJS default export works too');
  if (viaDefault.ok) await viaDefault.provider.client('p.test');
  t.equal(mod.calls[1]?.service, 'HTTP/p.test');
});

t.test('kerberosProvider without the SPNEGO constant passes no mechanism', async (t) => {
  const mod = fakeKerberos();
  const { GSS_MECH_OID_SPNEGO: _drop, ...bare } = mod;
  await kerberosProvider(bare, 'linux').client('h.test');
  t.same(mod.calls[0]?.options, {});
});

t.test('loadKerberos: missing, broken or wrong package is a reason, never a throw', async (t) => {
  const missing = await loadKerberos(async () => {
    throw Object.assign(new Error("Cannot find package 'kerberos' imported from /x/y.js"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
  });
  t.same(missing, { ok: false, reason: 'is not installed' });
  const broken = await loadKerberos(async () => {
    throw new Error('libgssapi_krb5.so.2: cannot open shared object file');
  });
  t.same(broken, {
    ok: false,
    reason: 'failed to load (libgssapi_krb5.so.2: cannot open shared object file)',
  });
  const wrong = await loadKerberos(async () => ({ something: 1 }));
  t.same(wrong, { ok: false, reason: 'has no initializeClient()' });
  t.same(await loadKerberos(async () => null), { ok: false, reason: 'has no initializeClient()' });
});

t.test('importFailure recognises "not installed" by code or message', async (t) => {
  t.equal(
    importFailure(Object.assign(new Error('x'), { code: 'MODULE_NOT_FOUND' })),
    'is not installed',
  );
  t.equal(importFailure(new Error("Cannot find module 'kerberos'")), 'is not installed');
  t.equal(
    importFailure(new Error('boom imported from /home/me/app.js\nstack')),
    'failed to load (boom)',
    'local paths are cut off',
  );
});

t.test('the real import: kerberos is not a dependency of corproxy', async (t) => {
  const load = await loadKerberos();
  // Whichever way, loading never throws and reports a reason when unusable.
  if (!load.ok) t.match(load.reason, /not installed|failed to load|initializeClient/);
  else t.pass('kerberos is installed here');
});

t.test('NegotiateLoader loads once', async (t) => {
  let loads = 0;
  const loader = new NegotiateLoader(async (): Promise<GssLoad> => {
    loads += 1;
    return { ok: false, reason: 'is not installed' };
  });
  await loader.get();
  await loader.get();
  t.equal(loads, 1);
});

t.test('negotiateHint names the package, the command and the fallback', async (t) => {
  t.equal(
    negotiateHint('is not installed'),
    'Negotiate needs the optional kerberos package, which is not installed ' +
      '(npm install kerberos; NTLM or Basic are used instead when offered)',
  );
});
