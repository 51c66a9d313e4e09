/**
 * Starts corproxy in-process on 127.0.0.1:0 with a config built from flag-like input
 * (through the real parseConfig) and a memory sink for connection records.
 */
import os from 'node:os';
import { parseConfig, type Flags } from '../../src/config/index.js';
import type { Config } from '../../src/config/types.js';
import type { ConnectionRecord } from '../../src/events.js';
import { startServer, type RunningServer, type StartOptions } from '../../src/proxy/server.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TestProxy {
  readonly port: number;
  readonly server: RunningServer;
  readonly config: Config;
  readonly records: ConnectionRecord[];
  readonly warnings: string[];
  /** Resolves once `n` records have been written (bounded by `ms`). */
  waitForRecords(n: number, ms?: number): Promise<ConnectionRecord[]>;
}

export function testConfig(flags: Flags, env: Record<string, string> = {}, file?: unknown): Config {
  return parseConfig({
    file,
    ...(file === undefined ? {} : { filePath: 'test-config.yaml' }),
    flags: { listen: ['127.0.0.1:0'], log: 'off', stateDir: os.tmpdir(), ...flags },
    // The mirror keeps a cache in the state dir: tests that want it turn it on.
    env: { CORPROXY_MIRROR: 'false', ...env },
    platform: process.platform,
    homedir: os.tmpdir(),
  });
}

export async function startCorproxy(
  t: Teardown,
  flags: Flags = {},
  extra: Partial<Omit<StartOptions, 'config' | 'sink' | 'version'>> & {
    env?: Record<string, string>;
    file?: unknown;
  } = {},
): Promise<TestProxy> {
  const records: ConnectionRecord[] = [];
  const warnings: string[] = [];
  const waiters: Array<() => void> = [];
  const config = testConfig(flags, extra.env, extra.file);
  const server = await startServer({
    ...extra,
    config,
    version: 'test',
    sink: {
      write: (r) => {
        records.push(r);
        for (const w of waiters.splice(0)) w();
      },
      warn: (m) => warnings.push(m),
    },
  });
  t.teardown(() => {
    server.state.stopBackground();
    return server.close(100);
  });
  const waitForRecords = async (n: number, ms = 5000): Promise<ConnectionRecord[]> => {
    const deadline = Date.now() + ms;
    while (records.length < n && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        // Cleared when a record wakes us: a pending timer would hold the test process open.
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return records;
  };
  return { port: server.addresses[0]!.port, server, config, records, warnings, waitForRecords };
}
