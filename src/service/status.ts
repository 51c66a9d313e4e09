/**
 * `corproxy service status`: what the service manager says (systemctl or the scheduled
 * task), what the daemon published in its status file, and its latest warnings. Every
 * source is optional: a missing user bus or journal becomes a note, not a failure.
 */

import { posix, win32 } from 'node:path';

import { firstLine } from './executor.js';
import { parseDaemonStatus, STATUS_FILE, type DaemonStatus } from './instance-lock.js';
import type { ServiceRequest } from './install.js';
import type { Manifest, ServiceDeps, ServiceScope } from './plan.js';
import { UNIT_NAMES } from './units.js';
import * as win from './windows.js';

export interface UnitState {
  readonly load: string;
  readonly active: string;
  readonly sub: string;
  readonly unitFile: string;
  readonly mainPid: number | undefined;
  readonly since: string | undefined;
}

export interface ServiceStatusReport {
  readonly platform: 'linux' | 'win32';
  readonly scope: ServiceScope;
  readonly installed: boolean;
  readonly installedAt: string | undefined;
  readonly service: UnitState | undefined;
  readonly socket: { readonly active: string; readonly listen: readonly string[] } | undefined;
  readonly task: win.TaskState | undefined;
  readonly daemon: (DaemonStatus & { readonly running: boolean }) | undefined;
  readonly lastErrors: readonly string[];
  readonly notes: readonly string[];
}

/** `systemctl show` output: KEY=VALUE lines; a key may repeat (Listen=), so values are lists. */
export function parseSystemctlShow(stdout: string): Map<string, string[]> {
  const props = new Map<string, string[]>();
  for (const line of stdout.split(/\r?\n/)) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    props.set(key, [...(props.get(key) ?? []), line.slice(eq + 1)]);
  }
  return props;
}

function prop(props: Map<string, string[]>, key: string): string {
  return props.get(key)?.[0] ?? '';
}

function toUnitState(props: Map<string, string[]>): UnitState {
  const pid = Number(prop(props, 'MainPID'));
  const since = prop(props, 'ActiveEnterTimestamp');
  return {
    load: prop(props, 'LoadState'),
    active: prop(props, 'ActiveState'),
    sub: prop(props, 'SubState'),
    unitFile: prop(props, 'UnitFileState'),
    mainPid: Number.isInteger(pid) && pid > 0 ? pid : undefined,
    since: since === '' || since === 'n/a' ? undefined : since,
  };
}

async function showUnit(
  req: ServiceRequest,
  unit: string,
  properties: string,
  deps: ServiceDeps,
  notes: string[],
): Promise<Map<string, string[]> | undefined> {
  const scope = req.scope === 'user' ? ['--user'] : [];
  const result = await deps.executor.run('systemctl', [
    ...scope,
    'show',
    unit,
    `--property=${properties}`,
  ]);
  if (result.code === 0) return parseSystemctlShow(result.stdout);
  notes.push(`systemctl show ${unit}: ${firstLine(result)}`);
  return undefined;
}

async function lastWarnings(
  req: ServiceRequest,
  deps: ServiceDeps,
  notes: string[],
): Promise<string[]> {
  const scope = req.scope === 'user' ? ['--user'] : [];
  const args = [...scope, '-u', UNIT_NAMES.service, '-p', 'warning', '-n', '5'];
  const result = await deps.executor.run('journalctl', [
    ...args,
    '--no-pager',
    '-q',
    '-o',
    'short-iso',
  ]);
  if (result.code !== 0) {
    notes.push(`journalctl: ${firstLine(result)}`);
    return [];
  }
  return result.stdout.split(/\r?\n/).filter((line) => line.trim() !== '');
}

async function daemonStatus(
  stateDir: string,
  join: (a: string, b: string) => string,
  deps: ServiceDeps,
  notes: string[],
): Promise<ServiceStatusReport['daemon']> {
  const path = join(stateDir, STATUS_FILE);
  const raw = await deps.fs.readFile(path);
  if (raw === undefined) {
    notes.push(`no status file in ${stateDir}: the daemon has not run there`);
    return undefined;
  }
  try {
    const status = parseDaemonStatus(raw.toString('utf8'), path);
    return { ...status, running: deps.isAlive(status.pid) };
  } catch (err) {
    notes.push((err as Error).message);
    return undefined;
  }
}

export async function linuxStatus(
  req: ServiceRequest,
  manifest: Manifest | undefined,
  deps: ServiceDeps,
): Promise<ServiceStatusReport> {
  const notes: string[] = [];
  const unitProps = 'LoadState,ActiveState,SubState,UnitFileState,MainPID,ActiveEnterTimestamp';
  const service = await showUnit(req, UNIT_NAMES.service, unitProps, deps, notes);
  const socket = manifest?.units.includes(UNIT_NAMES.socket)
    ? await showUnit(req, UNIT_NAMES.socket, 'ActiveState,Listen', deps, notes)
    : undefined;
  return {
    platform: 'linux',
    scope: req.scope,
    installed: manifest !== undefined,
    installedAt: manifest?.installedAt,
    service: service === undefined ? undefined : toUnitState(service),
    socket:
      socket === undefined
        ? undefined
        : { active: prop(socket, 'ActiveState'), listen: socket.get('Listen') ?? [] },
    task: undefined,
    daemon: await daemonStatus(req.stateDir, posix.join, deps, notes),
    lastErrors: await lastWarnings(req, deps, notes),
    notes,
  };
}

export async function windowsStatus(
  req: ServiceRequest,
  manifest: Manifest | undefined,
  deps: ServiceDeps,
): Promise<ServiceStatusReport> {
  const notes: string[] = [];
  const query = win.queryTaskCommand();
  const result = await deps.executor.run(query.file, query.args);
  let task: win.TaskState | undefined;
  if (result.code !== 0) notes.push(`scheduled task ${win.TASK_NAME}: ${firstLine(result)}`);
  else task = win.parseTaskQuery(result.stdout);
  const lastErrors =
    task?.lastResult !== undefined && task.lastResult !== 0 && task.state !== 'Running'
      ? [`last run ended with exit code ${task.lastResult}`]
      : [];
  return {
    platform: 'win32',
    scope: req.scope,
    installed: manifest !== undefined,
    installedAt: manifest?.installedAt,
    service: undefined,
    socket: undefined,
    task,
    daemon: await daemonStatus(req.stateDir, win32.join, deps, notes),
    lastErrors,
    notes,
  };
}

function serviceLine(r: ServiceStatusReport): string {
  if (r.task !== undefined) {
    const last = r.task.lastRun === undefined ? '' : `, last run ${r.task.lastRun}`;
    return `task:    ${r.task.state}${last}`;
  }
  const s = r.service;
  if (s === undefined) return 'service: unknown';
  if (s.load === 'not-found') return 'service: no corproxy unit loaded';
  const pid = s.mainPid === undefined ? '' : `, PID ${s.mainPid}`;
  const since = s.since === undefined ? '' : `, since ${s.since}`;
  return `service: ${s.active} (${s.sub})${pid}, ${s.unitFile || 'unknown'}${since}`;
}

function daemonLines(d: NonNullable<ServiceStatusReport['daemon']>): string[] {
  const upstream =
    d.upstreams === undefined || d.upstreams.length === 0 ? 'direct' : d.upstreams.join(', ');
  const lines = [
    `daemon:  PID ${d.pid} ${d.running ? 'running' : 'not running'}, version ${d.version}, started ${d.started}`,
    `listen:  ${d.listen.join(', ') || 'none'}${d.socketActivated === true ? ' (from systemd)' : ''}`,
    `upstream: ${upstream}`,
  ];
  if (d.logFile !== undefined) lines.push(`log:     ${d.logFile}`);
  return lines;
}

/** The human-readable status, one fact per line. */
export function formatStatus(r: ServiceStatusReport): string[] {
  const installed = r.installed
    ? `installed ${r.installedAt ?? ''}`.trim()
    : 'not installed by corproxy';
  const lines = [`corproxy service (--${r.scope}): ${installed}`, serviceLine(r)];
  if (r.socket !== undefined) {
    lines.push(
      `socket:  ${r.socket.active}, listening on ${r.socket.listen.join(', ') || 'nothing'}`,
    );
  }
  if (r.daemon !== undefined) lines.push(...daemonLines(r.daemon));
  if (r.lastErrors.length > 0) lines.push('last errors:', ...r.lastErrors.map((e) => `  ${e}`));
  lines.push(...r.notes.map((n) => `note: ${n}`));
  return lines;
}
