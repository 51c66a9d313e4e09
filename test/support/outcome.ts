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
