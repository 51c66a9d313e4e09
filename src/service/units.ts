/**
 * Pure rendering of the systemd units corproxy ships and installs. The files in systemd/
 * are these functions' output for the defaults (test/unit/service/units.test.ts checks
 * that), so the shipped units and `corproxy service install` never drift apart.
 */

import { isIP } from 'node:net';
import { posix } from 'node:path';

import type { ListenAddress } from '../config/types.js';
import { CorproxyError } from '../errors.js';

export type UnitScope = 'system' | 'user';

/** The names the units are installed under, in both scopes. */
export const UNIT_NAMES = Object.freeze({
  service: 'corproxy.service',
  socket: 'corproxy.socket',
  sysusers: 'corproxy.conf',
});

/** The dedicated system account (sysusers.d(5)); user units run as the user. */
export const SYSTEM_USER = 'corproxy';

/** Flags of `corproxy serve` the units pass; one place to change if the CLI renames them. */
export const SERVE_FLAGS = Object.freeze({
  config: '--config',
  stateDir: '--state-dir',
  log: '--log',
});

export const DEFAULT_NODE_PATH = '/usr/bin/node';
export const DEFAULT_SCRIPT_PATH = '/usr/lib/node_modules/corproxy/dist/main.js';
export const DEFAULT_LISTEN: readonly ListenAddress[] = Object.freeze([
  Object.freeze({ host: '127.0.0.1', port: 3129 }),
  Object.freeze({ host: '::1', port: 3129 }),
]);

export interface UnitOptions {
  readonly scope: UnitScope;
  /** Absolute path of the node binary (process.execPath when installing). */
  readonly nodePath: string;
  /** Absolute path of corproxy's dist/main.js. */
  readonly scriptPath: string;
  /** Absent: the daemon searches its default config locations. */
  readonly configPath?: string;
  /** User scope only: absent means ~/.local/state/corproxy (the daemon's default). */
  readonly stateDir?: string;
  readonly listen: readonly ListenAddress[];
}

/** An ExecStart= word: a literal (escaped when rendered) or text with systemd specifiers. */
type ExecWord = string | { readonly specifiers: string };

/** ProtectHome= hides these from the system service, so nothing it runs or reads may live there. */
const HIDDEN_FROM_SYSTEM = ['/home/', '/root/', '/run/user/'];

/** The directory ProtectHome= hides `path` under from the system service, if any. */
export function hiddenFromSystemService(path: string): string | undefined {
  return HIDDEN_FROM_SYSTEM.find((dir) => path.startsWith(dir));
}

function fail(message: string): never {
  throw new CorproxyError('CPX_ERR_SERVICE', message);
}

/** Throws CPX_ERR_SERVICE naming the first option the unit could not work with. */
export function validateUnitOptions(opts: UnitOptions): void {
  const paths: Array<[string, string | undefined]> = [
    ['node binary', opts.nodePath],
    ['corproxy script', opts.scriptPath],
    ['config file', opts.configPath],
    ['state dir', opts.stateDir],
  ];
  for (const [what, path] of paths) {
    if (path === undefined) continue;
    if (!posix.isAbsolute(path)) fail(`${what} path must be absolute: ${path}`);
    if (/[\n\r\0]/.test(path)) fail(`${what} path contains a control character`);
    const hidden = hiddenFromSystemService(path);
    if (opts.scope === 'system' && hidden !== undefined) {
      fail(
        `${what} ${path} is under ${hidden}, which ProtectHome= hides from the system ` +
          'service; install node and corproxy system-wide (and the config in /etc/corproxy) ' +
          'or use --user',
      );
    }
  }
  if (opts.scope === 'system' && opts.stateDir !== undefined) {
    fail('the system service keeps its state in /var/lib/corproxy (StateDirectory=)');
  }
  if (opts.listen.length === 0) fail('at least one listen address is needed');
  for (const addr of opts.listen) formatListenStream(addr);
}

/** systemd.socket(5) ListenStream= value; only IP literals, since the unit binds before DNS. */
export function formatListenStream(addr: ListenAddress): string {
  const family = isIP(addr.host);
  if (family === 0) fail(`listen host must be an IP literal: ${addr.host}`);
  if (!Number.isInteger(addr.port) || addr.port < 1 || addr.port > 65535) {
    fail(`listen port must be 1-65535 for a socket unit: ${addr.port}`);
  }
  return family === 6 ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}

/**
 * Quotes one literal ExecStart= word (systemd.service(5) "Command lines"): `%` starts a
 * specifier and `$` a variable, so both are doubled; quotes and backslashes are escaped
 * inside double quotes, which any word with whitespace or quoting characters gets.
 */
export function quoteExecWord(word: string): string {
  const escaped = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (escaped !== '' && !/[\s"'\\;]/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function renderExec(words: readonly ExecWord[]): string {
  return words.map((w) => (typeof w === 'string' ? quoteExecWord(w) : w.specifiers)).join(' ');
}

/** The `corproxy serve` command line of the unit. */
function serveCommand(opts: UnitOptions): ExecWord[] {
  const words: ExecWord[] = [opts.nodePath, opts.scriptPath, 'serve'];
  if (opts.configPath !== undefined) words.push(SERVE_FLAGS.config, opts.configPath);
  if (opts.scope === 'system') {
    // %S and %L are /var/lib and /var/log for the system manager, i.e. exactly the
    // StateDirectory= and LogsDirectory= below.
    words.push(SERVE_FLAGS.stateDir, { specifiers: '%S/corproxy' });
    words.push(SERVE_FLAGS.log, { specifiers: '%L/corproxy/connections.log' });
  } else {
    // Not %S: for user managers it is $XDG_CONFIG_HOME before systemd 254 and
    // $XDG_STATE_HOME after, while corproxy's own default is $XDG_STATE_HOME/corproxy.
    words.push(SERVE_FLAGS.stateDir, opts.stateDir ?? { specifiers: '%h/.local/state/corproxy' });
  }
  return words;
}

const READINESS_COMMENT = [
  '# Type=exec, not notify: sd_notify() needs a datagram to the notify socket, which node',
  '# cannot send without a native addon, and a `systemd-notify --ready` child needs',
  '# NotifyAccess=all and may not be attributed to this unit once it has exited',
  '# (systemd-notify(1)). With corproxy.socket, systemd binds the listeners before the',
  '# daemon starts and connections wait in the backlog, so readiness is moot; without it,',
  '# exec still fails the start when node or the script cannot be executed.',
];

const SERVICE_COMMON = [
  'ExecReload=/bin/kill -HUP $MAINPID',
  'Restart=on-failure',
  'RestartSec=2s',
  '# A config (78) or usage (2) error does not heal by restarting: fix it, then restart.',
  'RestartPreventExitStatus=2 78',
  '# SIGTERM drains open tunnels; this must exceed limits.drainTimeoutMs, after which the',
  '# daemon closes what is left. mixed: SIGTERM to the daemon only, SIGKILL to all at timeout.',
  'TimeoutStopSec=30s',
  'KillMode=mixed',
  '# Every tunnel holds two descriptors.',
  'LimitNOFILE=65536',
  'SyslogIdentifier=corproxy',
];

/** Sandboxing that works without mount namespaces (seccomp filters need NoNewPrivileges=). */
const HARDENING_SECCOMP = [
  '# Hardening: corproxy needs outbound TCP, DNS and its own directories, nothing else.',
  'NoNewPrivileges=yes',
  '# AF_NETLINK: getaddrinfo() with AI_ADDRCONFIG, which node uses, asks the kernel over it.',
  'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK',
  'RestrictNamespaces=yes',
  'RestrictRealtime=yes',
  'RestrictSUIDSGID=yes',
  'LockPersonality=yes',
  'SystemCallArchitectures=native',
  'SystemCallFilter=@system-service',
  'SystemCallFilter=~@privileged',
  '# EPERM instead of SIGSYS: libuv probes optional calls (io_uring) and falls back.',
  'SystemCallErrorNumber=EPERM',
  "# MemoryDenyWriteExecute= is deliberately absent: V8's JIT compiler needs memory that is",
  '# writable and then executable, so node cannot run under it.',
];

const HARDENING_SYSTEM = [
  '# No capabilities: the socket unit binds for it, and 3129 is not a privileged port.',
  'CapabilityBoundingSet=',
  'ProtectSystem=strict',
  'ProtectHome=yes',
  'PrivateTmp=yes',
  'PrivateDevices=yes',
  'ProtectKernelTunables=yes',
  'ProtectKernelModules=yes',
  'ProtectKernelLogs=yes',
  'ProtectControlGroups=yes',
  'ProtectClock=yes',
  'ProtectHostname=yes',
  'ProtectProc=invisible',
  'RemoveIPC=yes',
];

function systemServiceBody(opts: UnitOptions): string[] {
  return [
    '[Unit]',
    'Description=corproxy local forwarding HTTPS proxy',
    '# The socket is optional: when installed it is started first and its listeners passed on.',
    'Wants=network-online.target corproxy.socket',
    'After=network-online.target corproxy.socket',
    '',
    '[Service]',
    ...READINESS_COMMENT,
    'Type=exec',
    `ExecStart=${renderExec(serveCommand(opts))}`,
    ...SERVICE_COMMON,
    '# A dedicated account (corproxy.conf in sysusers.d), not DynamicUser=: that would put the',
    '# state under /var/lib/private (mode 0700), and developers must read ca-bundle.pem there.',
    `User=${SYSTEM_USER}`,
    `Group=${SYSTEM_USER}`,
    'StateDirectory=corproxy',
    'StateDirectoryMode=0755',
    'ConfigurationDirectory=corproxy',
    'LogsDirectory=corproxy',
    '# The connection log names every host developers reached.',
    'LogsDirectoryMode=0750',
    'UMask=0022',
    '',
    ...HARDENING_SECCOMP,
    ...HARDENING_SYSTEM,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ];
}

function userServiceBody(opts: UnitOptions): string[] {
  return [
    '[Unit]',
    'Description=corproxy local forwarding HTTPS proxy (per user)',
    '# Runs with your identity, so Kerberos/NTLM single sign-on to the upstream keeps working.',
    '# The socket is optional: when installed it is started first and its listeners passed on.',
    'Wants=corproxy.socket',
    'After=corproxy.socket',
    '',
    '[Service]',
    ...READINESS_COMMENT,
    'Type=exec',
    `ExecStart=${renderExec(serveCommand(opts))}`,
    ...SERVICE_COMMON,
    '',
    '# ProtectSystem=, ProtectHome= and PrivateTmp= are left out: in a user manager they need',
    '# unprivileged user namespaces, which some distributions disable (the unit would not',
    '# start), and PrivateTmp= would hide the Kerberos ticket cache in /tmp.',
    ...HARDENING_SECCOMP,
    '',
    '[Install]',
    'WantedBy=default.target',
  ];
}

/** corproxy.service for the system manager or corproxy-user.service for `systemctl --user`. */
export function renderServiceUnit(opts: UnitOptions): string {
  validateUnitOptions(opts);
  const body = opts.scope === 'system' ? systemServiceBody(opts) : userServiceBody(opts);
  return `${body.join('\n')}\n`;
}

/** corproxy.socket; the same text serves both scopes. */
export function renderSocketUnit(listen: readonly ListenAddress[]): string {
  if (listen.length === 0) fail('at least one listen address is needed');
  const lines = [
    '[Unit]',
    'Description=corproxy listening sockets (socket activation)',
    '',
    '[Socket]',
    ...listen.map((addr) => `ListenStream=${formatListenStream(addr)}`),
    '# [::1] must not also take IPv4 connections, and binding must not fail on a host whose',
    '# loopback has no IPv6 address yet.',
    'BindIPv6Only=ipv6-only',
    'FreeBind=yes',
    'NoDelay=yes',
    'FileDescriptorName=corproxy',
    '# One daemon accepts all connections itself (LISTEN_FDS, fd 3 onward).',
    'Accept=no',
    '',
    '[Install]',
    'WantedBy=sockets.target',
  ];
  return `${lines.join('\n')}\n`;
}

/** sysusers.d(5) line creating the system account the system service runs as. */
export function renderSysusers(): string {
  return [
    '# The account corproxy.service runs as (sysusers.d(5)).',
    `u ${SYSTEM_USER} - "corproxy proxy daemon" /var/lib/corproxy`,
    '',
  ].join('\n');
}

/** The shipped systemd/ directory: file name → content, rendered from the defaults. */
export function shippedUnitFiles(): ReadonlyArray<{
  readonly file: string;
  readonly text: string;
}> {
  const base = {
    nodePath: DEFAULT_NODE_PATH,
    scriptPath: DEFAULT_SCRIPT_PATH,
    listen: DEFAULT_LISTEN,
  };
  return [
    { file: 'corproxy.service', text: renderServiceUnit({ ...base, scope: 'system' }) },
    { file: 'corproxy-user.service', text: renderServiceUnit({ ...base, scope: 'user' }) },
    { file: 'corproxy.socket', text: renderSocketUnit(DEFAULT_LISTEN) },
    { file: 'corproxy-sysusers.conf', text: renderSysusers() },
  ];
}
