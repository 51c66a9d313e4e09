import t from 'tap';

import {
  createTaskCommand,
  deleteTaskCommand,
  encodeTaskXml,
  endTaskCommand,
  escapeXml,
  parseTaskQuery,
  queryTaskCommand,
  quoteWindowsArg,
  renderTaskXml,
  runTaskCommand,
  TASK_NAME,
  taskArguments,
  taskLogonType,
  type TaskOptions,
} from '../../../src/service/windows.js';

const logon: TaskOptions = {
  kind: 'logon',
  account: 'CORP\\dev',
  nodePath: 'C:\\Program Files\\nodejs\\node.exe',
  scriptPath: 'C:\\Users\\dev\\AppData\\Roaming\\npm\\node_modules\\corproxy\\dist\\main.js',
  workingDir: 'C:\\Users\\dev\\AppData\\Local\\corproxy',
};
const boot: TaskOptions = {
  ...logon,
  kind: 'boot',
  account: 'NT AUTHORITY\\NetworkService',
  workingDir: undefined,
};

/** CommandLineToArgvW's rules, to check quoting by round trip. */
function parseWindowsCommandLine(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let inQuotes = false;
  let started = false;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i];
    if (c === '\\') {
      let n = 0;
      while (line[i + n] === '\\') n += 1;
      if (line[i + n] === '"') {
        current += '\\'.repeat(Math.floor(n / 2));
        if (n % 2 === 1) current += '"';
        else inQuotes = !inQuotes;
        i += n;
      } else {
        current += '\\'.repeat(n);
        i += n - 1;
      }
      started = true;
    } else if (c === '"') {
      inQuotes = !inQuotes;
      started = true;
    } else if ((c === ' ' || c === '\t') && !inQuotes) {
      if (started) args.push(current);
      current = '';
      started = false;
    } else {
      current += c;
      started = true;
    }
  }
  if (started) args.push(current);
  return args;
}

/** Minimal well-formedness check: every open tag closes in order. */
function tagsBalance(xml: string): boolean {
  const stack: string[] = [];
  for (const m of xml.matchAll(/<(\/?)([A-Za-z]+)[^>]*?(\/?)>/g)) {
    if (m[3] === '/') continue;
    if (m[1] === '/') {
      if (stack.pop() !== m[2]) return false;
    } else stack.push(m[2] ?? '');
  }
  return stack.length === 0;
}

function element(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
}

t.test('Windows arguments round-trip through CommandLineToArgvW rules', async (t) => {
  const cases = [
    'plain',
    'C:\\Program Files\\nodejs\\node.exe',
    'C:\\dir with space\\',
    'say "hi"',
    'back\\\\"slash',
    'trailing\\',
    '',
    'tab\there',
  ];
  for (const arg of cases) {
    t.same(parseWindowsCommandLine(quoteWindowsArg(arg)), [arg], JSON.stringify(arg));
  }
  t.equal(quoteWindowsArg('C:\\plain\\path'), 'C:\\plain\\path', 'no quotes when none needed');
  const opts = { ...logon, configPath: 'C:\\Users\\dev\\my "corp" config.yaml' };
  t.same(parseWindowsCommandLine(taskArguments(opts)), [
    opts.scriptPath,
    'serve',
    '--config',
    opts.configPath,
  ]);
});

t.test('the logon task runs as the user with their token, forever, restarting', async (t) => {
  const xml = renderTaskXml(logon);
  t.ok(tagsBalance(xml), 'well-formed');
  t.match(xml, /^<\?xml version="1.0" encoding="UTF-16"\?>\r\n/);
  t.match(xml, /<LogonTrigger>[\s\S]*<UserId>CORP\\dev<\/UserId>[\s\S]*<\/LogonTrigger>/);
  t.equal(element(xml, 'LogonType'), 'InteractiveToken', 'keeps SSPI single sign-on');
  t.equal(element(xml, 'RunLevel'), 'LeastPrivilege');
  t.equal(element(xml, 'ExecutionTimeLimit'), 'PT0S', 'no 72-hour limit');
  t.equal(element(xml, 'MultipleInstancesPolicy'), 'IgnoreNew');
  t.equal(element(xml, 'DisallowStartIfOnBatteries'), 'false');
  t.equal(element(xml, 'StopIfGoingOnBatteries'), 'false');
  t.match(xml, /<RestartOnFailure>\s*<Interval>PT1M<\/Interval>\s*<Count>3<\/Count>/);
  t.match(xml, /<Repetition>\s*<Interval>PT5M<\/Interval>/, 'relaunches a crashed daemon');
  t.equal(element(xml, 'Command'), 'C:\\Program Files\\nodejs\\node.exe');
  t.equal(element(xml, 'WorkingDirectory'), logon.workingDir);
  const trigger = /<LogonTrigger>([\s\S]*)<\/LogonTrigger>/.exec(xml)?.[1] ?? '';
  const order = ['<Enabled>', '<Repetition>', '<UserId>'].map((tag) => trigger.indexOf(tag));
  t.ok(
    order.every((pos, i) => pos >= 0 && (i === 0 || pos > (order[i - 1] ?? 0))),
    'triggerBaseType sequence: Enabled, Repetition, then UserId',
  );
  t.notMatch(xml, /\n(?<!\r\n)/, 'CRLF line endings throughout');
});

t.test('the boot task needs an explicit account; service accounts go by SID', async (t) => {
  const xml = renderTaskXml(boot);
  t.ok(tagsBalance(xml));
  t.match(xml, /<BootTrigger>/);
  t.notMatch(xml, /<LogonTrigger>/);
  t.equal(element(xml, 'UserId'), 'S-1-5-20');
  t.equal(element(xml, 'LogonType'), 'ServiceAccount');
  t.notMatch(xml, /<WorkingDirectory>/, "the account's profile is unknown at install time");
  const sids: Array<[string, string]> = [
    ['NT AUTHORITY\\SYSTEM', 'S-1-5-18'],
    ['LocalSystem', 'S-1-5-18'],
    ['NT AUTHORITY\\Local Service', 'S-1-5-19'],
    ['localservice', 'S-1-5-19'],
    ['NetworkService', 'S-1-5-20'],
  ];
  for (const [account, sid] of sids) {
    t.equal(element(renderTaskXml({ ...boot, account }), 'UserId'), sid, account);
    t.equal(taskLogonType('boot', account), 'ServiceAccount', account);
  }
  t.equal(taskLogonType('boot', 'CORP\\svc-proxy'), 'Password');
  t.equal(taskLogonType('logon', 'NetworkService'), 'InteractiveToken');
});

t.test(
  'schtasks prompts for a named account password; it is never on the command line',
  async (t) => {
    const path = 'C:\\Users\\dev\\AppData\\Local\\corproxy\\corproxy-task.xml';
    t.same(createTaskCommand(path, logon), {
      file: 'schtasks.exe',
      args: ['/Create', '/TN', TASK_NAME, '/XML', path, '/F'],
    });
    t.same(createTaskCommand(path, boot).interactive, undefined);
    const named = createTaskCommand(path, { ...boot, account: 'CORP\\svc-proxy' });
    t.same(named.args.slice(-4), ['/RU', 'CORP\\svc-proxy', '/RP', '*']);
    t.equal(named.interactive, true);
    t.same(runTaskCommand().args, ['/Run', '/TN', TASK_NAME]);
    t.same(endTaskCommand().args, ['/End', '/TN', TASK_NAME]);
    t.same(deleteTaskCommand().args, ['/Delete', '/TN', TASK_NAME, '/F']);
    const query = queryTaskCommand();
    t.equal(query.file, 'powershell.exe');
    t.match(query.args.at(-1), /Get-ScheduledTask -TaskName 'corproxy'.*ConvertTo-Json/);
  },
);

t.test('XML special characters are escaped, control characters refused', async (t) => {
  t.equal(escapeXml(`a&b<c>d"e'f`), 'a&amp;b&lt;c&gt;d&quot;e&apos;f');
  const xml = renderTaskXml({ ...logon, nodePath: 'C:\\R&D <tools>\\node.exe' });
  t.equal(element(xml, 'Command'), 'C:\\R&amp;D &lt;tools&gt;\\node.exe');
  t.ok(tagsBalance(xml));
  t.throws(() => escapeXml('bell\x07'), { code: 'CPX_ERR_SERVICE', message: /control character/ });
});

t.test('definitions the task cannot run are CPX_ERR_SERVICE errors', async (t) => {
  const cases: Array<[string, TaskOptions, RegExp]> = [
    ['relative node', { ...logon, nodePath: 'node.exe' }, /node.exe path must be absolute/],
    ['posix script', { ...logon, scriptPath: '/usr/lib/main.js' }, /script path must be absolute/],
    ['relative config', { ...logon, configPath: 'c.yaml' }, /config file path must be absolute/],
    ['no account', { ...boot, account: ' ' }, /needs an account/],
  ];
  for (const [name, opts, message] of cases) {
    t.throws(() => renderTaskXml(opts), { code: 'CPX_ERR_SERVICE', message }, name);
  }
  t.doesNotThrow(() => renderTaskXml({ ...logon, nodePath: '\\\\server\\share\\node.exe' }));
});

t.test('task XML is written as UTF-16LE with a byte order mark', async (t) => {
  const xml = renderTaskXml(logon);
  const bytes = encodeTaskXml(xml);
  t.same([...bytes.subarray(0, 2)], [0xff, 0xfe]);
  t.equal(bytes.subarray(2).toString('utf16le'), xml);
});

t.test('the PowerShell task state is parsed, anything else is an error', async (t) => {
  t.same(
    parseTaskQuery(
      '{"State":"Running","LastTaskResult":267009,"LastRunTime":"5/1/2025 9:00:00 AM"}\r\n',
    ),
    { state: 'Running', lastResult: 267009, lastRun: '5/1/2025 9:00:00 AM' },
  );
  t.same(parseTaskQuery('{"State":"Ready","LastTaskResult":null,"LastRunTime":""}'), {
    state: 'Ready',
    lastResult: undefined,
    lastRun: undefined,
  });
  t.throws(() => parseTaskQuery('Get-ScheduledTask : No MSFT_ScheduledTask objects found'), {
    code: 'CPX_ERR_SERVICE',
    message: /could not read the task state/,
  });
  t.throws(() => parseTaskQuery('{"Name":"x"}'), {
    code: 'CPX_ERR_SERVICE',
    message: /no task state/,
  });
  t.throws(() => parseTaskQuery('null'), { code: 'CPX_ERR_SERVICE' });
});
