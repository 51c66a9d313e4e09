/**
 * Pure definitions of corproxy's Windows scheduled task and the commands that manage it.
 *
 * Why a task and not a service registered with sc.exe: the Service Control Manager
 * starts a service binary and waits for it to call StartServiceCtrlDispatcher; node.exe
 * never does, so the SCM reports error 1053 and ends the process after 30 s. A task runs
 * node.exe as it is. Two shapes:
 * - `logon` (default): starts at the user's logon with the user's interactive token, so
 *   SSPI single sign-on (NTLM/Negotiate) to the upstream works. A LocalSystem-style
 *   account cannot use the user's credentials.
 * - `boot`: starts at boot under an account the administrator names explicitly, like a
 *   service; it authenticates as that account, never as the user.
 */

import { CorproxyError } from '../errors.js';

export const TASK_NAME = 'corproxy';

export type TaskKind = 'logon' | 'boot';

export interface TaskOptions {
  readonly kind: TaskKind;
  /** DOMAIN\user for `logon`; the explicitly chosen account for `boot`. */
  readonly account: string;
  readonly nodePath: string;
  readonly scriptPath: string;
  readonly configPath?: string;
  /** Absent for `boot`: the account's own %LOCALAPPDATA% is unknown at install time. */
  readonly workingDir?: string;
}

export type LogonType = 'InteractiveToken' | 'ServiceAccount' | 'Password';

/** How one command of the plan is run. */
export interface TaskCommand {
  readonly file: string;
  readonly args: readonly string[];
  /** schtasks prompts for the account's password on the console (`/RP *`). */
  readonly interactive?: boolean;
}

/** Built-in service accounts have no password; the task refers to them by SID. */
const SERVICE_ACCOUNTS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^(nt authority\\)?(system|localsystem)$/i, 'S-1-5-18'],
  [/^(nt authority\\)?local ?service$/i, 'S-1-5-19'],
  [/^(nt authority\\)?network ?service$/i, 'S-1-5-20'],
];

function serviceAccountSid(account: string): string | undefined {
  return SERVICE_ACCOUNTS.find(([re]) => re.test(account.trim()))?.[1];
}

/** The logon type a task of this kind and account needs. */
export function taskLogonType(kind: TaskKind, account: string): LogonType {
  if (kind === 'logon') return 'InteractiveToken';
  return serviceAccountSid(account) === undefined ? 'Password' : 'ServiceAccount';
}

/**
 * Quotes one argument so CommandLineToArgvW (the C runtime's parser node.exe uses) reads
 * it back unchanged: backslashes are literal except before a quote, where they double.
 */
export function quoteWindowsArg(arg: string): string {
  if (arg !== '' && !/[\s"]/.test(arg)) return arg;
  const body = arg.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, '$1$1');
  return `"${body}"`;
}

/** XML 1.0 allows tab, LF and CR among the C0 controls, and nothing else below space. */
function hasForbiddenControl(text: string): boolean {
  return [...text].some((c) => c < ' ' && c !== '\t' && c !== '\n' && c !== '\r');
}

/** XML 1.0 character data and attribute escaping. */
export function escapeXml(text: string): string {
  if (hasForbiddenControl(text)) {
    throw new CorproxyError(
      'CPX_ERR_SERVICE',
      'task definition value contains a control character',
    );
  }
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function validate(opts: TaskOptions): void {
  const absolute = /^([a-zA-Z]:\\|\\\\)/;
  for (const [what, path] of [
    ['node.exe', opts.nodePath],
    ['corproxy script', opts.scriptPath],
    ['config file', opts.configPath],
  ] as const) {
    if (path !== undefined && !absolute.test(path)) {
      throw new CorproxyError('CPX_ERR_SERVICE', `${what} path must be absolute: ${path}`);
    }
  }
  if (opts.account.trim() === '') {
    throw new CorproxyError('CPX_ERR_SERVICE', 'the task needs an account to run as');
  }
}

/** The Arguments element: the script and `serve`, plus --config when one was given. */
export function taskArguments(opts: TaskOptions): string {
  const args = [opts.scriptPath, 'serve'];
  if (opts.configPath !== undefined) args.push('--config', opts.configPath);
  return args.map(quoteWindowsArg).join(' ');
}

function triggerXml(opts: TaskOptions): string[] {
  // Task Scheduler's RestartOnFailure covers a failed launch only, not node exiting with
  // an error. A 5-minute repetition restarts a crashed daemon; IgnoreNew below makes the
  // repetition a no-op while it runs. Element order follows triggerBaseType's sequence.
  const repetition = [
    '      <Repetition>',
    '        <Interval>PT5M</Interval>',
    '        <StopAtDurationEnd>false</StopAtDurationEnd>',
    '      </Repetition>',
  ];
  if (opts.kind === 'boot') {
    return [
      '    <BootTrigger>',
      '      <Enabled>true</Enabled>',
      ...repetition,
      '    </BootTrigger>',
    ];
  }
  return [
    '    <LogonTrigger>',
    '      <Enabled>true</Enabled>',
    ...repetition,
    `      <UserId>${escapeXml(opts.account)}</UserId>`,
    '    </LogonTrigger>',
  ];
}

function principalXml(opts: TaskOptions): string[] {
  const sid = opts.kind === 'boot' ? serviceAccountSid(opts.account) : undefined;
  return [
    '    <Principal id="Author">',
    `      <UserId>${escapeXml(sid ?? opts.account)}</UserId>`,
    `      <LogonType>${taskLogonType(opts.kind, opts.account)}</LogonType>`,
    '      <RunLevel>LeastPrivilege</RunLevel>',
    '    </Principal>',
  ];
}

const SETTINGS_XML = [
  '    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>',
  '    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>',
  '    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>',
  '    <AllowHardTerminate>true</AllowHardTerminate>',
  '    <StartWhenAvailable>true</StartWhenAvailable>',
  '    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>',
  '    <IdleSettings>',
  '      <StopOnIdleEnd>false</StopOnIdleEnd>',
  '      <RestartOnIdle>false</RestartOnIdle>',
  '    </IdleSettings>',
  '    <AllowStartOnDemand>true</AllowStartOnDemand>',
  '    <Enabled>true</Enabled>',
  '    <Hidden>false</Hidden>',
  '    <RunOnlyIfIdle>false</RunOnlyIfIdle>',
  '    <WakeToRun>false</WakeToRun>',
  '    <!-- PT0S: no limit; the default (72 hours) would stop the daemon. -->',
  '    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>',
  '    <Priority>5</Priority>',
  '    <RestartOnFailure>',
  '      <Interval>PT1M</Interval>',
  '      <Count>3</Count>',
  '    </RestartOnFailure>',
];

/** The Task Scheduler 1.2 XML definition (schtasks /Create /XML). */
export function renderTaskXml(opts: TaskOptions): string {
  validate(opts);
  const workingDir =
    opts.workingDir === undefined
      ? []
      : [`      <WorkingDirectory>${escapeXml(opts.workingDir)}</WorkingDirectory>`];
  const lines = [
    '<?xml version="1.0" encoding="UTF-16"?>',
    '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">',
    '  <RegistrationInfo>',
    '    <Description>corproxy local forwarding HTTPS proxy</Description>',
    `    <URI>\\${TASK_NAME}</URI>`,
    '  </RegistrationInfo>',
    '  <Triggers>',
    ...triggerXml(opts),
    '  </Triggers>',
    '  <Principals>',
    ...principalXml(opts),
    '  </Principals>',
    '  <Settings>',
    ...SETTINGS_XML,
    '  </Settings>',
    '  <Actions Context="Author">',
    '    <Exec>',
    `      <Command>${escapeXml(opts.nodePath)}</Command>`,
    `      <Arguments>${escapeXml(taskArguments(opts))}</Arguments>`,
    ...workingDir,
    '    </Exec>',
    '  </Actions>',
    '</Task>',
  ];
  return `${lines.join('\r\n')}\r\n`;
}

/** schtasks reads task XML as UTF-16 little endian with a byte order mark. */
export function encodeTaskXml(xml: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')]);
}

/** Registers (or replaces, /F) the task from its XML file. */
export function createTaskCommand(xmlPath: string, opts: TaskOptions): TaskCommand {
  const args = ['/Create', '/TN', TASK_NAME, '/XML', xmlPath, '/F'];
  if (taskLogonType(opts.kind, opts.account) !== 'Password') return { file: 'schtasks.exe', args };
  // The password is typed at schtasks' own prompt: it never appears on a command line,
  // in a file, or in corproxy's output.
  return {
    file: 'schtasks.exe',
    args: [...args, '/RU', opts.account, '/RP', '*'],
    interactive: true,
  };
}

export function runTaskCommand(): TaskCommand {
  return { file: 'schtasks.exe', args: ['/Run', '/TN', TASK_NAME] };
}

export function endTaskCommand(): TaskCommand {
  return { file: 'schtasks.exe', args: ['/End', '/TN', TASK_NAME] };
}

export function deleteTaskCommand(): TaskCommand {
  return { file: 'schtasks.exe', args: ['/Delete', '/TN', TASK_NAME, '/F'] };
}

/**
 * Reads the task's state through PowerShell, whose enum names do not depend on the display
 * language, unlike the columns of `schtasks /Query /FO LIST`.
 */
export function queryTaskCommand(): TaskCommand {
  const script = [
    `$t = Get-ScheduledTask -TaskName '${TASK_NAME}' -ErrorAction Stop`,
    '$i = $t | Get-ScheduledTaskInfo',
    '[pscustomobject]@{ State = [string]$t.State; LastTaskResult = $i.LastTaskResult;',
    'LastRunTime = [string]$i.LastRunTime } | ConvertTo-Json -Compress',
  ].join('; ');
  return {
    file: 'powershell.exe',
    args: ['-NoProfile', '-NonInteractive', '-Command', script],
  };
}

export interface TaskState {
  /** Ready, Running, Disabled, Queued or Unknown. */
  readonly state: string;
  /** The last exit code (0 = success; 267009 = still running). */
  readonly lastResult: number | undefined;
  readonly lastRun: string | undefined;
}

/** Parses queryTaskCommand()'s output; throws CPX_ERR_SERVICE on anything else. */
export function parseTaskQuery(stdout: string): TaskState {
  let value: unknown;
  try {
    value = JSON.parse(stdout.trim());
  } catch (cause) {
    throw new CorproxyError('CPX_ERR_SERVICE', 'could not read the task state from PowerShell', {
      cause,
    });
  }
  if (typeof value !== 'object' || value === null || !('State' in value)) {
    throw new CorproxyError('CPX_ERR_SERVICE', 'PowerShell returned no task state');
  }
  const v = value as { State: unknown; LastTaskResult?: unknown; LastRunTime?: unknown };
  return {
    state: String(v.State),
    lastResult: typeof v.LastTaskResult === 'number' ? v.LastTaskResult : undefined,
    lastRun: typeof v.LastRunTime === 'string' && v.LastRunTime !== '' ? v.LastRunTime : undefined,
  };
}
