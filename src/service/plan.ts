/**
 * Install plans and the install record. A plan is a list of steps (mkdir, write, remove,
 * run) that `--dry-run` prints and a real run carries out in order. The record (manifest)
 * lists each file install wrote with its SHA-256, so uninstall can remove exactly those.
 */

import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';

import { CorproxyError } from '../errors.js';
import { formatCommand, runChecked, type Executor } from './executor.js';

export type ServiceScope = 'user' | 'system';

export const MANIFEST_FILE = 'service-install.json';

export interface ServiceFs {
  /** undefined when the file does not exist. */
  readFile(path: string): Promise<Buffer | undefined>;
  /** Atomic (temporary file, then rename). */
  writeFile(path: string, data: Buffer): Promise<void>;
  mkdirp(path: string): Promise<void>;
  /** No error when the file is already gone. */
  remove(path: string): Promise<void>;
}

export interface ServiceDeps {
  readonly platform: NodeJS.Platform;
  /** process.getuid(); undefined on Windows. */
  readonly uid: number | undefined;
  readonly executor: Executor;
  readonly fs: ServiceFs;
  readonly now: () => Date;
  readonly isAlive: (pid: number) => boolean;
  readonly print: (line: string) => void;
}

export type Step =
  | { readonly kind: 'mkdir'; readonly path: string }
  | { readonly kind: 'write'; readonly path: string; readonly data: Buffer; readonly text: string }
  | { readonly kind: 'remove'; readonly path: string }
  | {
      readonly kind: 'run';
      readonly file: string;
      readonly args: readonly string[];
      readonly interactive?: boolean;
      /** A failure is reported as a note instead of stopping the plan. */
      readonly optional?: boolean;
    };

export type RunStep = Extract<Step, { kind: 'run' }>;

export interface ManifestFile {
  readonly path: string;
  readonly sha256: string;
}

export interface Manifest {
  readonly version: 1;
  readonly platform: 'linux' | 'win32';
  readonly scope: ServiceScope;
  readonly installedAt: string;
  /** Linux: the unit dir; Windows: the state dir holding the task XML. */
  readonly unitDir: string;
  readonly units: readonly string[];
  readonly files: readonly ManifestFile[];
}

export const nodeServiceFs: ServiceFs = {
  readFile: async (path) => {
    try {
      return await fsp.readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  },
  writeFile: async (path, data) => {
    const tmp = `${path}.${process.pid}.tmp`;
    await fsp.writeFile(tmp, data, { mode: 0o644 });
    await fsp.rename(tmp, path);
  },
  mkdirp: async (path) => void (await fsp.mkdir(path, { recursive: true })),
  remove: (path) => fsp.rm(path, { force: true }),
};

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function isManifest(v: unknown): v is Manifest {
  const m = v as Partial<Manifest> | null;
  return (
    typeof m === 'object' &&
    m !== null &&
    m.version === 1 &&
    (m.scope === 'user' || m.scope === 'system') &&
    typeof m.installedAt === 'string' &&
    typeof m.unitDir === 'string' &&
    Array.isArray(m.units) &&
    m.units.every((u) => typeof u === 'string') &&
    Array.isArray(m.files) &&
    m.files.every((f) => typeof f?.path === 'string' && typeof f?.sha256 === 'string')
  );
}

/** Parses an install record; anything else throws CPX_ERR_SERVICE naming `path`. */
export function parseManifest(text: string, path: string): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!isManifest(value)) {
    throw new CorproxyError(
      'CPX_ERR_SERVICE',
      `${path} is not a corproxy install record; remove it by hand`,
    );
  }
  return value;
}

/** The step writing the record of `manifest` to `path`. */
export function manifestWriteStep(path: string, manifest: Manifest): Step {
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  return { kind: 'write', path, data: Buffer.from(text, 'utf8'), text };
}

/** A file a plan writes: its bytes, and its text for --dry-run. */
export interface TargetFile {
  readonly path: string;
  readonly data: Buffer;
  readonly text: string;
}

/** Refuses to overwrite a file corproxy did not write, or one changed since (unless --force). */
export async function checkOverwrite(
  targets: readonly TargetFile[],
  manifest: Manifest | undefined,
  force: boolean,
  fs: ServiceFs,
): Promise<void> {
  for (const target of targets) {
    const current = await fs.readFile(target.path);
    if (current === undefined || force) continue;
    const recorded = manifest?.files.find((f) => f.path === target.path);
    if (recorded === undefined) {
      throw new CorproxyError(
        'CPX_ERR_SERVICE',
        `${target.path} exists and was not written by corproxy; remove it or use --force`,
      );
    }
    if (recorded.sha256 !== sha256(current)) {
      throw new CorproxyError(
        'CPX_ERR_SERVICE',
        `${target.path} was edited since corproxy wrote it; keep edits in a drop-in, or use --force`,
      );
    }
  }
}

/** Steps removing the manifest's files that are not in `keep`; edited files stay, with a note. */
export async function removalSteps(
  manifest: Manifest,
  keep: readonly TargetFile[],
  force: boolean,
  deps: ServiceDeps,
): Promise<Step[]> {
  const steps: Step[] = [];
  for (const file of manifest.files) {
    if (keep.some((t) => t.path === file.path)) continue;
    const current = await deps.fs.readFile(file.path);
    if (current === undefined) continue;
    if (sha256(current) !== file.sha256 && !force) {
      deps.print(`note: ${file.path} was edited since install; left in place (--force removes it)`);
      continue;
    }
    steps.push({ kind: 'remove', path: file.path });
  }
  return steps;
}

/** One line per step, as printed by a real run and by --dry-run. */
export function describeStep(step: Step): string {
  switch (step.kind) {
    case 'mkdir':
      return `mkdir -p ${formatCommand(step.path, [])}`;
    case 'write':
      return `write ${formatCommand(step.path, [])} (${step.data.length} bytes)`;
    case 'remove':
      return `remove ${formatCommand(step.path, [])}`;
    case 'run':
      return `run ${formatCommand(step.file, step.args)}`;
  }
}

async function applyStep(step: Step, executor: Executor, deps: ServiceDeps): Promise<void> {
  if (step.kind === 'mkdir') return deps.fs.mkdirp(step.path);
  if (step.kind === 'write') return deps.fs.writeFile(step.path, step.data);
  if (step.kind === 'remove') return deps.fs.remove(step.path);
  if (step.optional !== true) {
    await runChecked(executor, step.file, step.args, { interactive: step.interactive });
    return;
  }
  const command = formatCommand(step.file, step.args);
  try {
    const result = await executor.run(step.file, step.args);
    if (result.code !== 0) deps.print(`note: ${command} exited ${result.code}; continuing`);
  } catch (err) {
    deps.print(`note: ${command} did not run (${(err as Error).message}); continuing`);
  }
}

/** Prints the plan (--dry-run, with each file's content) or carries it out step by step. */
export async function applyPlan(
  steps: readonly Step[],
  dryRun: boolean,
  deps: ServiceDeps,
): Promise<void> {
  if (dryRun) deps.print('dry run: nothing is changed');
  for (const step of steps) {
    deps.print(dryRun ? `would ${describeStep(step)}` : describeStep(step));
    if (dryRun && step.kind === 'write') {
      for (const line of step.text.replace(/\r?\n$/, '').split(/\r?\n/))
        deps.print(`    | ${line}`);
    }
    if (!dryRun) await applyStep(step, deps.executor, deps);
  }
}
