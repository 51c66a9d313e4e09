/**
 * The text form of `corproxy explain`: a label column and one fact per line, wrapped
 * to no terminal width in particular but kept short. Pure.
 */
import type { CorproxyRoute, Explanation, ToolAnswer, UpstreamStep } from './explain.js';
import { shortIso } from './format.js';
import { showVar, type ProxyAnswer } from './proxy-answer.js';

const LABEL = 10;
const INDENT = ' '.repeat(LABEL);

function labelled(label: string, lines: readonly string[]): string[] {
  return lines.map((line, i) => `${i === 0 ? label.padEnd(LABEL) : INDENT}${line}`);
}

function stepText(step: UpstreamStep, index: number): string {
  const n = `${index + 1}. ${step.url}`;
  if (step.healthy === undefined) return n;
  if (step.healthy) return `${n}  healthy`;
  const until = step.badUntil ? ` until ${shortIso(step.badUntil)}` : '';
  const why = step.lastError ? `: ${step.lastError}` : '';
  return `${n}  bad${until}${why} (tried last)`;
}

function routeLines(r: CorproxyRoute, target: Explanation['target']): string[] {
  if (r.kind === 'loop') {
    return [`refused with 508: ${r.rule} (a request to it would loop)`];
  }
  const how =
    r.mode === 'tunnel' ? `CONNECT tunnel to ${target.host}:${target.port}` : 'forwarded request';
  const lines = [`${r.kind} (${how})`, `rule: ${r.rule}`];
  if (r.pac !== undefined && r.pac.skipped.length > 0) {
    lines.push(`PAC entries corproxy cannot use: ${r.pac.skipped.join('; ')}`);
  }
  if (r.kind === 'upstream') {
    lines.push(...r.upstreams.map(stepText));
    lines.push(
      r.fallback === 'direct'
        ? 'if every upstream fails: direct connection (fallback: direct)'
        : 'if every upstream fails: the request fails (fallback: none)',
    );
  }
  if (!r.healthKnown)
    lines.push('(rules from the config; the daemon did not answer: health unknown)');
  return lines;
}

/** What the tool does, in one line. */
function outcome(a: ToolAnswer): string {
  if (a.fails) return `fails: ${a.reason}`;
  if (a.proxied) return `${a.reason}${a.viaCorproxy ? ' = corproxy' : ''}`;
  return `direct: ${a.reason}`;
}

function variables(a: ProxyAnswer): string {
  const vars = [a.variable, a.noProxy].filter((v) => v !== undefined).map(showVar);
  return vars.length > 0 ? vars.join('  ') : '(no proxy variables set)';
}

/** The explanation as lines of text. */
export function renderExplanation(e: Explanation): string[] {
  const curl = e.curlDiffers ? [`DIFFERS, ${outcome(e.curl)}`, variables(e.curl)] : ['same as Go'];
  const lines = [
    ...labelled('target', [e.target.url]),
    ...labelled('corproxy', routeLines(e.corproxy, e.target)),
    ...labelled('go', [outcome(e.go), variables(e.go)]),
    ...labelled('curl', curl),
  ];
  if (e.notes.length > 0)
    lines.push(
      ...labelled(
        'notes',
        e.notes.map((n) => `- ${n}`),
      ),
    );
  return lines;
}
