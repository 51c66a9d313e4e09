/** What /proc says about a process: resident memory, open descriptors, fd limits. */
import { readFileSync, readdirSync } from 'node:fs';

/** VmRSS of `pid` in KiB (/proc/PID/status reports kB = KiB). */
export function rssKiB(pid) {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

export function openFds(pid) {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** { soft, hard } open-file limit of `pid` ('self' for the harness). */
export function fdLimits(pid = 'self') {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  const n = (s) => (s === 'unlimited' ? Infinity : Number(s));
  return m ? { soft: n(m[1]), hard: n(m[2]) } : { soft: NaN, hard: NaN };
}

/** Samples `pid`'s RSS every `ms` until `stop()`; returns the samples. */
export function sampleRss(pid, ms) {
  const samples = [];
  const t0 = Date.now();
  const take = () => {
    try {
      samples.push({ t: (Date.now() - t0) / 1000, kib: rssKiB(pid) });
    } catch {
      // The process is gone; the caller sees the gap.
    }
  };
  take();
  const timer = setInterval(take, ms);
  return {
    samples,
    stop() {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}
