/**
 * Counters the daemon keeps for /status and /metrics (Prometheus text exposition
 * format 0.0.4). Updated once per connection at close, never per chunk.
 */
import type { ConnectionRecord } from './events.js';

export class Metrics {
  openConnections = 0;
  openTunnels = 0;
  bytesUp = 0;
  bytesDown = 0;
  readonly connections = new Map<string, number>();
  readonly errors = new Map<string, number>();

  record(rec: ConnectionRecord): void {
    const key = `${rec.method === 'CONNECT' ? 'connect' : rec.route === 'local' ? 'local' : 'forward'}|${rec.route}|${rec.outcome}`;
    this.connections.set(key, (this.connections.get(key) ?? 0) + 1);
    if (rec.error) this.errors.set(rec.error.code, (this.errors.get(rec.error.code) ?? 0) + 1);
    this.bytesUp += rec.bytesUp;
    this.bytesDown += rec.bytesDown;
  }

  totals(): { connections: number; errors: number; bytesUp: number; bytesDown: number } {
    let connections = 0;
    for (const n of this.connections.values()) connections += n;
    let errors = 0;
    for (const n of this.errors.values()) errors += n;
    return { connections, errors, bytesUp: this.bytesUp, bytesDown: this.bytesDown };
  }
}

export interface Gauge {
  readonly name: string;
  readonly help: string;
  readonly value: number;
  readonly labels?: Readonly<Record<string, string>>;
}

function labelText(labels: Readonly<Record<string, string>> | undefined): string {
  if (labels === undefined) return '';
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return `{${parts.join(',')}}`;
}

/** Renders the metrics plus extra gauges in the Prometheus text format. */
export function renderPrometheus(m: Metrics, extra: readonly Gauge[] = []): string {
  const out: string[] = [];
  const family = (name: string, help: string, type: 'counter' | 'gauge'): void => {
    const escaped = help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
    out.push(`# HELP ${name} ${escaped}`, `# TYPE ${name} ${type}`);
  };
  family(
    'corproxy_connections_total',
    'Connections closed, by kind, route and outcome.',
    'counter',
  );
  for (const [key, n] of m.connections) {
    const [kind, route, outcome] = key.split('|') as [string, string, string];
    out.push(`corproxy_connections_total${labelText({ kind, route, outcome })} ${n}`);
  }
  family('corproxy_errors_total', 'Failed connections by CPX_ERR code.', 'counter');
  for (const [code, n] of m.errors) out.push(`corproxy_errors_total${labelText({ code })} ${n}`);
  family('corproxy_bytes_total', 'Payload bytes relayed, by direction.', 'counter');
  out.push(`corproxy_bytes_total{direction="up"} ${m.bytesUp}`);
  out.push(`corproxy_bytes_total{direction="down"} ${m.bytesDown}`);
  family('corproxy_open_connections', 'Client connections open now.', 'gauge');
  out.push(`corproxy_open_connections ${m.openConnections}`);
  family('corproxy_open_tunnels', 'CONNECT tunnels open now.', 'gauge');
  out.push(`corproxy_open_tunnels ${m.openTunnels}`);
  // The text format wants each family as one group, declared once.
  const builtIn = new Set(out.filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]));
  const groups = new Map<string, Gauge[]>();
  for (const g of extra) {
    if (!builtIn.has(g.name)) groups.set(g.name, [...(groups.get(g.name) ?? []), g]);
  }
  for (const [name, gauges] of groups) {
    family(name, gauges[0]!.help, 'gauge');
    for (const g of gauges) out.push(`${name}${labelText(g.labels)} ${g.value}`);
  }
  return `${out.join('\n')}\n`;
}
