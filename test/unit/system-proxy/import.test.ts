import { readFileSync } from 'node:fs';
import t from 'tap';
import { importSystemProxy, readerFor, runCommand } from '../../../src/system-proxy/import.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/system-proxy/${name}`, import.meta.url), 'utf8');

t.test('each platform runs its own command and parser', async (t) => {
  const calls: string[] = [];
  const run = (outputs: Record<string, string>) => async (cmd: string, args: readonly string[]) => {
    calls.push(`${cmd} ${args.join(' ')}`);
    return outputs[cmd] ?? '';
  };
  const outputs = {
    reg: fixture('reg-query-manual.txt'),
    scutil: fixture('scutil-pac.txt'),
    gsettings: fixture('gsettings-manual.txt'),
  };
  const win = await importSystemProxy({ platform: 'win32', run: run(outputs) });
  t.same(win.settings.upstream, ['http://proxy.corp.example:8080']);
  t.same(win.settings.direct, ['*.corp.example', '10.0.0.0/8', '192.168.1.0/24', 'build.internal']);
  const mac = await importSystemProxy({ platform: 'darwin', run: run(outputs) });
  t.equal(mac.settings.pac, 'http://wpad.corp.example/proxy.pac');
  t.same(mac.settings.direct, ['*.local', '169.254.0.0/16']);
  const linux = await importSystemProxy({ platform: 'linux', run: run(outputs) });
  t.same(linux.settings.upstream, [
    'http://secure-proxy.corp.example:8443',
    'http://proxy.corp.example:8080',
  ]);
  t.same(calls, [
    'reg query HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings',
    'scutil --proxy',
    'gsettings list-recursively org.gnome.system.proxy',
  ]);
  t.equal(readerFor('freebsd').command, 'gsettings');
});

t.test('a missing or failing command is CPX_ERR_CONFIG_READ naming the command', async (t) => {
  const missing = Object.assign(new Error('spawn gsettings ENOENT'), { code: 'ENOENT' });
  await t.rejects(importSystemProxy({ platform: 'linux', run: () => Promise.reject(missing) }), {
    code: 'CPX_ERR_CONFIG_READ',
    message: /gsettings is not installed/,
  });
  await t.rejects(
    importSystemProxy({
      platform: 'win32',
      run: () => Promise.reject(new Error('Command failed: reg query\nERROR: not found')),
    }),
    { code: 'CPX_ERR_CONFIG_READ', message: /with reg query .*Command failed: reg query$/ },
  );
});

t.test('the default runner returns stdout and rejects on a non-zero exit', async (t) => {
  t.equal(await runCommand(process.execPath, ['-e', 'process.stdout.write("out")']), 'out');
  await t.rejects(runCommand(process.execPath, ['-e', 'process.exit(3)']));
  await t.rejects(runCommand('corproxy-no-such-command-for-tests', []), { code: 'ENOENT' });
});
