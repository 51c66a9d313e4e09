/**
 * What a parse gave, in a form two parsers' answers can be compared by: the result, or
 * the thrown error's code and message.
 */
export function outcome(parse: (raw: string) => unknown, raw: string): unknown {
  try {
    return { ok: parse(raw) };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { code: e.code, message: e.message };
  }
}

interface Same {
  same(found: unknown, wanted: unknown, message: string): unknown;
}

/**
 * Draws `count` inputs (repeats skipped) and holds `fast` to `slow` on each: the same
 * result or the same error. The first difference is reported through `t.same` and ends
 * the run (undefined); otherwise the distinct inputs come back, each with `fast`'s
 * outcome, for the caller's checks that the draws reached the shape it tests.
 */
export function sameOutcomes(
  t: Same,
  draw: () => string,
  count: number,
  fast: (raw: string) => unknown,
  slow: (raw: string) => unknown,
): Map<string, unknown> | undefined {
  const seen = new Map<string, unknown>();
  for (let i = 0; i < count; i++) {
    const raw = draw();
    if (seen.has(raw)) continue;
    const quick = outcome(fast, raw);
    const careful = outcome(slow, raw);
    if (JSON.stringify(quick) !== JSON.stringify(careful)) {
      t.same(quick, careful, raw);
      return undefined;
    }
    seen.set(raw, quick);
  }
  return seen;
}
