/**
 * The mirror alone, without go's own work (zip checks, extraction, hashing): GET every
 * artifact of the set from `/mod/` with `concurrency` keep-alive connections, as go's
 * downloader does (one worker per CPU), and check each body's length against the file the
 * module proxy holds.
 */
import http from 'node:http';

function get(agent, url, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, timeout: timeoutMs }, (res) => {
      let bytes = 0;
      res.on('data', (c) => (bytes += c.length));
      res.once('end', () => resolve({ status: res.statusCode, bytes }));
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error(`GET ${url}: no answer in ${timeoutMs} ms`)));
    req.once('error', reject);
  });
}

/** Resolves `{ ok, ms, failures }` for all `paths` under `base` (…/mod). */
export async function fetchAll({ base, paths, files, concurrency, timeoutMs }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const queue = [...paths];
  const failures = [];
  const worker = async () => {
    for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
      const want = files.get(path).body;
      const r = await get(agent, `${base}${path}`, timeoutMs).catch((err) => ({
        status: 0,
        bytes: 0,
        error: err.message,
      }));
      if (r.status !== 200 || r.bytes !== Buffer.byteLength(want)) {
        failures.push(`${path}: ${r.error ?? `status ${r.status}, ${r.bytes} bytes`}`);
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const ms = performance.now() - started;
  agent.destroy();
  return { ok: failures.length === 0, ms, failures };
}
