/**
 * The targets and the best established peers measured on this kind of machine
 * (ratios to a direct connection made in the same run; W4 in KiB per idle tunnel).
 * `better` says which way is good: 'higher' for throughput and rates, 'lower' for latency
 * and memory.
 */
export const TARGETS = Object.freeze({
  single: {
    W1: { target: 0.45, peer: 0.35, peerName: 'squid (socat relay 0.42)', better: 'higher' },
    W2: { target: 2.5, peer: 3.1, peerName: 'tinyproxy', better: 'lower' },
    W3: { target: 0.4, peer: 0.36, peerName: 'tinyproxy/squid', better: 'higher' },
    W4: { target: 12, peer: 17, peerName: 'proxy-chain', better: 'lower' },
    W5: { target: 0.25, peer: 0.22, peerName: 'squid', better: 'higher' },
  },
  chained: {
    W1: { target: 0.75, peer: 0.64, peerName: 'squid', better: 'higher' },
    W2: { target: 1.4, peer: 1.56, peerName: 'squid', better: 'lower' },
    W3: { target: 0.6, peer: 0.55, peerName: 'squid', better: 'higher' },
    W5: { target: 0.65, peer: 0.61, peerName: 'squid', better: 'higher' },
  },
});

export function passes(value, spec) {
  if (!Number.isFinite(value)) return false;
  return spec.better === 'higher' ? value >= spec.target : value <= spec.target;
}
