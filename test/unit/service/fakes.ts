/**
 * Test doubles for src/service: an executor that records commands and answers from a
 * script, and an in-memory file system. Not a test file itself (no .test.ts suffix).
 */

import type { Executor, RunOptions, RunResult } from '../../../src/service/executor.js';
import type { ServiceDeps, ServiceFs } from '../../../src/service/plan.js';

export interface Call {
  readonly file: string;
  readonly args: readonly string[];
  readonly interactive: boolean;
}

export type Responder = (file: string, args: readonly string[]) => Partial<RunResult> | undefined;

export interface RecordingExecutor extends Executor {
  readonly calls: Call[];
}

/** Every command succeeds with empty output unless `respond` says otherwise. */
export function recordingExecutor(respond: Responder = () => undefined): RecordingExecutor {
  const calls: Call[] = [];
  return {
    calls,
    run: async (file: string, args: readonly string[], opts: RunOptions = {}) => {
      calls.push({ file, args: [...args], interactive: opts.interactive === true });
      return { code: 0, stdout: '', stderr: '', ...respond(file, args) };
    },
  };
}

export interface MemoryFs extends ServiceFs {
  readonly files: Map<string, Buffer>;
  readonly dirs: Set<string>;
}

export function memoryFs(initial: Record<string, string> = {}): MemoryFs {
  const files = new Map(Object.entries(initial).map(([k, v]) => [k, Buffer.from(v)]));
  const dirs = new Set<string>();
  return {
    files,
    dirs,
    readFile: async (path) => files.get(path),
    writeFile: async (path, data) => void files.set(path, Buffer.from(data)),
    mkdirp: async (path) => void dirs.add(path),
    remove: async (path) => void files.delete(path),
  };
}

export interface TestDeps extends ServiceDeps {
  readonly executor: RecordingExecutor;
  readonly lines: string[];
}

export function testDeps(
  over: Partial<Omit<ServiceDeps, 'executor'>> & { executor?: RecordingExecutor } = {},
): TestDeps {
  const lines: string[] = [];
  return {
    platform: 'linux',
    uid: 1000,
    executor: recordingExecutor(),
    fs: memoryFs(),
    now: () => new Date('2025-05-01T09:00:00.000Z'),
    isAlive: () => true,
    print: (line) => void lines.push(line),
    ...over,
    lines,
  };
}

/** Commands as shell-like strings, for compact assertions. */
export function commandLines(calls: readonly Call[]): string[] {
  return calls.map((c) => [c.file, ...c.args].join(' '));
}
