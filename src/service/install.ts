/**
 * `corproxy service install|uninstall|status` over an injected executor and file system.
 * Install and uninstall first build a plan (a list of steps), which `--dry-run` prints and
 * a real run executes. A manifest in the state dir records every file install wrote with
 * its SHA-256, so uninstall removes exactly those files, and only while they are unchanged.
 */

import { posix, win32 } from 'node:path';

import type { ListenAddress } from '../config/types.js';
import { CorproxyError } from '../errors.js';
import {
  applyPlan,
  checkOverwrite,
  MANIFEST_FILE,
  removalSteps,
  type TargetFile,
  manifestWriteStep,
  parseManifest,
  sha256,
  type Manifest,
  type RunStep,
  type ServiceDeps,
  type ServiceScope,
  type Step,
} from './plan.js';
import { linuxStatus, windowsStatus, type ServiceStatusReport } from './status.js';
import {
  renderServiceUnit,
  renderSocketUnit,
  renderSysusers,
  SYSTEM_USER,
  UNIT_NAMES,
} from './units.js';
import * as win from './windows.js';

export type { ServiceDeps, ServiceScope } from './plan.js';

export const TASK_XML_FILE = 'corproxy-task.xml';

/** Everything the CLI resolved (paths, flags); install.ts reads no environment. */
export interface ServiceRequest {
  readonly scope: ServiceScope;
  readonly dryRun: boolean;
  /** Overwrite or remove files that corproxy did not write or that were changed since. */
  readonly force: boolean;
  /** Linux: also install corproxy.socket (socket activation). */
  readonly socket: boolean;
  readonly unitDir: string;
  readonly sysusersDir: string;
  /** The daemon's state dir: the manifest lives there, the daemon publishes its status there. */
  readonly stateDir: string;
  readonly nodePath: string;
  readonly scriptPath: string;
  readonly configPath?: string;
  readonly listen: readonly ListenAddress[];
  /** Windows --system: the account the boot task runs as, chosen explicitly. */
  readonly account?: string;
  /** Windows --user: DOMAIN\user of the logon task. */
  readonly windowsUser: string;
}

function fail(message: string): never {
  throw new CorproxyError('CPX_ERR_SERVICE', message);
}

function platformOf(deps: ServiceDeps): 'linux' | 'win32' {
  if (deps.platform === 'linux' || deps.platform === 'win32') return deps.platform;
  return fail(`corproxy service supports Linux (systemd) and Windows, not ${deps.platform}`);
}

function pathApi(platform: 'linux' | 'win32'): typeof posix {
  return platform === 'win32' ? win32 : posix;
}

function systemctl(req: ServiceRequest, ...args: string[]): RunStep {
  return {
    kind: 'run',
    file: 'systemctl',
    args: req.scope === 'user' ? ['--user', ...args] : args,
  };
}

function textFile(path: string, text: string): TargetFile {
  return { path, data: Buffer.from(text, 'utf8'), text };
}

/** The files a Linux install writes for this request, service unit first. */
function linuxTargets(req: ServiceRequest, withSocket: boolean): TargetFile[] {
  const service = renderServiceUnit({
    scope: req.scope,
    nodePath: req.nodePath,
    scriptPath: req.scriptPath,
    configPath: req.configPath,
    stateDir: req.scope === 'user' ? req.stateDir : undefined,
    listen: req.listen,
  });
  const files = [textFile(posix.join(req.unitDir, UNIT_NAMES.service), service)];
  if (withSocket) {
    files.push(textFile(posix.join(req.unitDir, UNIT_NAMES.socket), renderSocketUnit(req.listen)));
  }
  if (req.scope === 'system') {
    files.push(textFile(posix.join(req.sysusersDir, UNIT_NAMES.sysusers), renderSysusers()));
  }
  return files;
}

function windowsTaskOptions(req: ServiceRequest): win.TaskOptions {
  if (req.scope === 'system' && req.account === undefined) {
    fail(
      '--system needs an explicit --account (e.g. "NT AUTHORITY\\NetworkService"); it cannot use ' +
        "the user's single sign-on, which the default per-user logon task keeps",
    );
  }
  if (req.scope === 'user' && req.account !== undefined) {
    fail('--account chooses the account of the --system boot task; the --user task runs as you');
  }
  return {
    kind: req.scope === 'system' ? 'boot' : 'logon',
    account: req.account ?? req.windowsUser,
    nodePath: req.nodePath,
    scriptPath: req.scriptPath,
    configPath: req.configPath,
    workingDir: req.scope === 'user' ? req.stateDir : undefined,
  };
}

function windowsTarget(req: ServiceRequest, task: win.TaskOptions): TargetFile {
  const xml = win.renderTaskXml(task);
  return { path: win32.join(req.stateDir, TASK_XML_FILE), data: win.encodeTaskXml(xml), text: xml };
}

function manifestPath(req: ServiceRequest, platform: 'linux' | 'win32'): string {
  return pathApi(platform).join(req.stateDir, MANIFEST_FILE);
}

/** The install record of this scope, undefined when there is none. */
export async function readManifest(
  req: ServiceRequest,
  platform: 'linux' | 'win32',
  deps: ServiceDeps,
): Promise<Manifest | undefined> {
  const path = manifestPath(req, platform);
  const raw = await deps.fs.readFile(path);
  if (raw === undefined) return undefined;
  const manifest = parseManifest(raw.toString('utf8'), path);
  if (manifest.scope !== req.scope) {
    fail(
      `${path} records a --${manifest.scope} install; pass --${manifest.scope} or another --state-dir`,
    );
  }
  if (manifest.unitDir !== installDir(req, platform)) {
    fail(`corproxy was installed into ${manifest.unitDir}; pass that directory (--unit-dir)`);
  }
  return manifest;
}

function installDir(req: ServiceRequest, platform: 'linux' | 'win32'): string {
  return platform === 'win32' ? req.stateDir : req.unitDir;
}

function manifestStep(
  req: ServiceRequest,
  platform: 'linux' | 'win32',
  targets: readonly TargetFile[],
  units: readonly string[],
  deps: ServiceDeps,
): Step {
  return manifestWriteStep(manifestPath(req, platform), {
    version: 1,
    platform,
    scope: req.scope,
    installedAt: deps.now().toISOString(),
    unitDir: installDir(req, platform),
    units,
    files: targets.map((t) => ({ path: t.path, sha256: sha256(t.data) })),
  });
}

function checkPrivileges(req: ServiceRequest, deps: ServiceDeps): void {
  if (req.dryRun || deps.uid === undefined) return;
  if (req.scope === 'system' && deps.uid !== 0) {
    fail('--system writes to system directories: run it as root (sudo)');
  }
  if (req.scope === 'user' && deps.uid === 0 && !req.force) {
    fail('as root, --user would install for root only: use --system, or run as your own user');
  }
}

async function planLinuxInstall(req: ServiceRequest, deps: ServiceDeps): Promise<Step[]> {
  const manifest = await readManifest(req, 'linux', deps);
  const targets = linuxTargets(req, req.socket);
  await checkOverwrite(targets, manifest, req.force, deps.fs);
  const units = req.socket ? [UNIT_NAMES.socket, UNIT_NAMES.service] : [UNIT_NAMES.service];
  const steps: Step[] = [];
  if (manifest?.units.includes(UNIT_NAMES.socket) === true && !req.socket) {
    // A re-install with --no-socket leaves no socket behind.
    steps.push({ ...systemctl(req, 'disable', '--now', UNIT_NAMES.socket), optional: true });
    steps.push(...(await removalSteps(manifest, targets, req.force, deps)));
  }
  const dirs = [...new Set(targets.map((t) => posix.dirname(t.path))), req.stateDir];
  steps.push(...dirs.map((path): Step => ({ kind: 'mkdir', path })));
  steps.push(...targets.map((t): Step => ({ kind: 'write', ...t })));
  steps.push(manifestStep(req, 'linux', targets, units, deps));
  const sysusers = targets.find((t) => t.path.endsWith(`/${UNIT_NAMES.sysusers}`));
  if (sysusers !== undefined) {
    steps.push({ kind: 'run', file: 'systemd-sysusers', args: [sysusers.path] });
  }
  steps.push(systemctl(req, 'daemon-reload'), systemctl(req, 'enable', '--now', ...units));
  // enable --now leaves a daemon that already runs on its old command line.
  if (manifest !== undefined) steps.push(systemctl(req, 'try-restart', UNIT_NAMES.service));
  return steps;
}

async function taskExists(deps: ServiceDeps): Promise<boolean> {
  const result = await deps.executor.run('schtasks.exe', ['/Query', '/TN', win.TASK_NAME]);
  return result.code === 0;
}

async function planWindowsInstall(req: ServiceRequest, deps: ServiceDeps): Promise<Step[]> {
  const task = windowsTaskOptions(req);
  const manifest = await readManifest(req, 'win32', deps);
  if (manifest === undefined && !req.force && (await taskExists(deps))) {
    fail(
      `a scheduled task named ${win.TASK_NAME} exists and was not created by corproxy; use --force`,
    );
  }
  const target = windowsTarget(req, task);
  await checkOverwrite([target], manifest, req.force, deps.fs);
  const create = win.createTaskCommand(target.path, task);
  return [
    { kind: 'mkdir', path: req.stateDir },
    { kind: 'write', ...target },
    manifestStep(req, 'win32', [target], [win.TASK_NAME], deps),
    { kind: 'run', ...create },
    { kind: 'run', ...win.runTaskCommand() },
  ];
}

/** Only files install writes in this scope may be removed, whatever the manifest says. */
function allowedFiles(req: ServiceRequest, platform: 'linux' | 'win32'): TargetFile[] {
  if (platform === 'win32') return [textFile(win32.join(req.stateDir, TASK_XML_FILE), '')];
  return linuxTargets(req, true);
}

async function planUninstall(req: ServiceRequest, deps: ServiceDeps): Promise<Step[]> {
  const platform = platformOf(deps);
  const manifest = await readManifest(req, platform, deps);
  if (manifest === undefined) {
    deps.print(`nothing to uninstall: no corproxy install record in ${req.stateDir}`);
    return [];
  }
  const allowed = allowedFiles(req, platform);
  const foreign = manifest.files.filter((f) => !allowed.some((a) => a.path === f.path));
  for (const f of foreign) deps.print(`note: ${f.path} is not a file corproxy installs; ignored`);
  const owned: Manifest = {
    ...manifest,
    files: manifest.files.filter((f) => !foreign.includes(f)),
  };
  const removals = await removalSteps(owned, [], req.force, deps);
  const remove: Step = { kind: 'remove', path: manifestPath(req, platform) };
  if (platform === 'win32') {
    const exists = await taskExists(deps);
    const task = exists ? [{ kind: 'run', ...win.deleteTaskCommand() } as const] : [];
    return [{ kind: 'run', ...win.endTaskCommand(), optional: true }, ...task, ...removals, remove];
  }
  if (req.scope === 'system') {
    deps.print(`note: the ${SYSTEM_USER} account stays (userdel ${SYSTEM_USER} removes it)`);
  }
  const disable: Step = {
    ...systemctl(req, 'disable', '--now', ...manifest.units),
    optional: true,
  };
  return [disable, ...removals, systemctl(req, 'daemon-reload'), remove];
}

export async function installService(
  req: ServiceRequest,
  deps: ServiceDeps,
): Promise<readonly Step[]> {
  const platform = platformOf(deps);
  checkPrivileges(req, deps);
  const steps =
    platform === 'win32' ? await planWindowsInstall(req, deps) : await planLinuxInstall(req, deps);
  await applyPlan(steps, req.dryRun, deps);
  if (platform === 'linux' && req.scope === 'user') {
    deps.print('note: to keep corproxy running while you are logged out: loginctl enable-linger');
  }
  return steps;
}

export async function uninstallService(
  req: ServiceRequest,
  deps: ServiceDeps,
): Promise<readonly Step[]> {
  checkPrivileges(req, deps);
  const steps = await planUninstall(req, deps);
  await applyPlan(steps, req.dryRun, deps);
  return steps;
}

export async function serviceStatus(
  req: ServiceRequest,
  deps: ServiceDeps,
): Promise<ServiceStatusReport> {
  const platform = platformOf(deps);
  const manifest = await readManifest(req, platform, deps);
  return platform === 'win32'
    ? windowsStatus(req, manifest, deps)
    : linuxStatus(req, manifest, deps);
}
