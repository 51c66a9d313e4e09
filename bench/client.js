/**
 * The benchmark load client, run as its own process (several at once when one process
 * cannot saturate the proxy). argv[2] is a JSON job `{ mode, ... }`; results are JSON lines
 * on stdout, the last one with `"done": true`. Modes: bulk, slow (client-stream.js),
 * latency, rate (client-conn.js), idle (client-idle.js), http (client-http.js).
 */
import { runBulk, runSlow } from './lib/client-stream.js';
import { runLatency, runRate } from './lib/client-conn.js';
import { openIdle } from './lib/client-idle.js';
import { runHttp } from './lib/client-http.js';

const say = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

/** Holds idle tunnels until the parent writes `close` (or closes stdin), within a bound. */
async function idle(job) {
  const { sockets, summary } = await openIdle(job);
  say({ ...summary, ready: true });
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, job.holdSeconds * 1000);
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (s) => {
      if (s.includes('close')) resolve();
    });
    process.stdin.once('end', resolve);
    process.stdin.once('close', () => clearTimeout(timer));
  });
  for (const s of sockets) s.destroy();
  return { closed: sockets.length };
}

const MODES = {
  bulk: runBulk,
  slow: (job) => runSlow(job, (p) => say({ progress: p })),
  latency: runLatency,
  rate: runRate,
  http: runHttp,
  idle,
};

const job = JSON.parse(process.argv[2] ?? '{}');
const run = MODES[job.mode];
if (run === undefined) {
  process.stderr.write(`unknown mode ${String(job.mode)}\n`);
  process.exit(2);
}
try {
  say({ ...(await run(job)), done: true });
  process.exit(0);
} catch (err) {
  say({ error: err instanceof Error ? err.message : String(err), done: true });
  process.exit(1);
}
