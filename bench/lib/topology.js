/**
 * The two topologies as pairs of ways to reach the origins: single (direct vs
 * client -> corproxy -> origin) and chained (client -> squid -> origin vs
 * client -> corproxy -> squid -> origin). Also measures the daemon's CPU per unit of work,
 * which (unlike throughput) barely moves when other work shares the machine.
 */
import { readFileSync } from 'node:fs';
import { ORIGIN_NAME } from './corproxy.js';
import { bulkThroughput, connectLatency, forwardRate, tunnelRate } from './workloads.js';

const HOST = '127.0.0.1';

function tunnel(proxyPort, originPort) {
  return { host: HOST, port: proxyPort, connect: `${ORIGIN_NAME}:${originPort}` };
}

function httpVia(proxyPort, originPort) {
  return { host: HOST, port: proxyPort, authority: `${ORIGIN_NAME}:${originPort}`, proxy: true };
}

/**
 * `directPort`: undefined for the single topology (connect straight to the origin), the
 * upstream proxy's port for the chained one.
 */
export function sidesFor(ports, proxyPort, directPort) {
  const reach = (originPort) => ({
    direct:
      directPort === undefined ? { host: HOST, port: originPort } : tunnel(directPort, originPort),
    proxy: tunnel(proxyPort, originPort),
  });
  return {
    bulk: reach(ports.bulk),
    echo: reach(ports.echo),
    http: {
      direct:
        directPort === undefined
          ? {
              host: HOST,
              port: ports.http,
              authority: `${ORIGIN_NAME}:${ports.http}`,
              proxy: false,
            }
          : httpVia(directPort, ports.http),
      proxy: httpVia(proxyPort, ports.http),
    },
  };
}

/** utime + stime of `pid` in seconds. */
export function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Runs `fn` and adds the daemon's CPU seconds spent meanwhile to the result. */
async function withCpu(pid, fn) {
  const c0 = cpuSeconds(pid);
  const r = await fn();
  return { ...r, daemonCpuSeconds: cpuSeconds(pid) - c0 };
}

/** Runs the selected throughput/latency workloads for one topology. */
export async function runTopology({ sides, plan, only, pid, clients, dir, log }) {
  const out = {};
  if (only.includes('W1')) {
    log('W1 bulk throughput');
    out.W1 = await withCpu(pid, () => bulkThroughput(sides.bulk, plan));
  }
  if (only.includes('W2')) {
    log('W2 CONNECT latency');
    out.W2 = await withCpu(pid, () => connectLatency(sides.echo, plan));
  }
  if (only.includes('W3')) {
    log('W3 tunnels per second');
    out.W3 = await withCpu(pid, () => tunnelRate(sides.echo, plan, clients.rateProcs));
  }
  if (only.includes('W5')) {
    log(`W5 forward requests per second (${clients.http.kind} client)`);
    out.W5 = await withCpu(pid, () => forwardRate(sides.http, plan, clients.http, dir));
  }
  return out;
}
