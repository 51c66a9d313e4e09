/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and sums self time per function and per
 * group, so a run can say where the daemon's CPU went without a profiler UI.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';

/** Where a function lives: the daemon's code, Node's internals, V8/native, or idle. */
function groupOf(frame) {
  const { functionName: fn, url } = frame;
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'gc';
  if (fn === '(program)' || fn === '(root)') return 'native (libuv, syscalls, V8)';
  if (url.includes('/dist/src/') || url.includes('/dist/')) return 'corproxy';
  if (url.startsWith('node:')) return 'node internals';
  if (url === '') return 'native (libuv, syscalls, V8)';
  return 'dependencies';
}

function label(frame) {
  const where = frame.url ? `${basename(frame.url)}:${frame.lineNumber + 1}` : 'native';
  return `${frame.functionName || '(anonymous)'} ${where}`;
}

/**
 * Self time by function (top `n`) and by group, in % of non-idle samples, counting only
 * samples from `skipMs` after the profile's start (so start-up is not counted).
 */
export function summarizeProfile(file, n = 15, skipMs = 0) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((node) => [node.id, node]));
  const self = new Map();
  const groups = new Map();
  let busy = 0;
  let idle = 0;
  let elapsed = 0;
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i] ?? 0;
    elapsed += dt;
    const frame = byId.get(id)?.callFrame;
    if (!frame || elapsed < skipMs * 1000) return;
    const group = groupOf(frame);
    if (group === 'idle') {
      idle += dt;
      return;
    }
    busy += dt;
    const key = label(frame);
    self.set(key, (self.get(key) ?? 0) + dt);
    groups.set(group, (groups.get(group) ?? 0) + dt);
  });
  const pct = (x) => Math.round((1000 * x) / Math.max(1, busy)) / 10;
  return {
    busyMs: Math.round(busy / 1000),
    idleMs: Math.round(idle / 1000),
    groups: Object.fromEntries(
      [...groups].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, pct(v)]),
    ),
    top: [...self]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, v]) => ({ name, pct: pct(v) })),
  };
}

/** The newest .cpuprofile in `dir`. */
export function newestProfile(dir) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) return undefined;
  return join(dir, files.sort().at(-1));
}
