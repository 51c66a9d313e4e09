/** Command-line options of `npm run bench` and the run plan they select. */

export const USAGE = `usage: npm run bench -- [options]
  --quick          one short trial per workload, no client calibration, no 10,000-tunnel
                   check, a 10 s slow reader (about two minutes)
  --only=W1,W3     run only these workloads (W1 W2 W3 W4 W5 idle10k slow)
  --no-chained     skip the chained topology (it needs squid)
  --profile        also run W1, W3 and W5 against a daemon under node --cpu-prof and print
                   where its CPU went
  --peers          also measure squid as the proxy under test (single topology), for
                   comparison with the reference figures
  --slow-full      read the whole 1 GiB at 1 MB/s (about 18 minutes) instead of 60 s
  --out=FILE       JSON results file (default bench/results/latest.json)
  --help`;

const FULL = {
  trials: 5,
  warm: 1,
  seconds: 4,
  latencyCount: 2000,
  concurrency: 64,
  httpConnections: 64,
  idleCount: 2000,
  bigIdleCount: 10_000,
  slowBytes: 1 << 30,
  slowRate: 1_000_000,
  slowSeconds: 60,
  calibrate: true,
};

const QUICK = {
  ...FULL,
  trials: 1,
  seconds: 2,
  latencyCount: 500,
  bigIdleCount: 0,
  slowSeconds: 10,
  calibrate: false,
};

const ALL = ['W1', 'W2', 'W3', 'W4', 'W5', 'idle10k', 'slow'];

export function parseOptions(argv) {
  const opts = {
    quick: false,
    only: ALL,
    chained: true,
    profile: false,
    peers: false,
    slowFull: false,
    out: undefined,
    help: false,
  };
  for (const arg of argv) {
    const [key, value] = arg.split('=', 2);
    if (key === '--quick') opts.quick = true;
    else if (key === '--only' && value) opts.only = value.split(',').map((s) => s.trim());
    else if (key === '--no-chained') opts.chained = false;
    else if (key === '--profile') opts.profile = true;
    else if (key === '--peers') opts.peers = true;
    else if (key === '--slow-full') opts.slowFull = true;
    else if (key === '--out' && value) opts.out = value;
    else if (key === '--help' || key === '-h') opts.help = true;
    else throw new Error(`unknown option ${arg}\n${USAGE}`);
  }
  const unknown = opts.only.filter((w) => !ALL.includes(w));
  if (unknown.length > 0) throw new Error(`unknown workload ${unknown.join(', ')}\n${USAGE}`);
  const plan = { ...(opts.quick ? QUICK : FULL) };
  if (opts.slowFull) plan.slowSeconds = Math.ceil(plan.slowBytes / plan.slowRate) + 30;
  return { opts, plan };
}
