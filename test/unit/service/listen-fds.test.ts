import t from 'tap';

import { CorproxyError } from '../../../src/errors.js';
import {
  LISTEN_ENV_KEYS,
  parseListenFds,
  SD_LISTEN_FDS_START,
} from '../../../src/service/listen-fds.js';

const PID = 4242;

t.test('descriptors passed to this PID start at fd 3, named by LISTEN_FDNAMES', async (t) => {
  const fds = parseListenFds(
    { LISTEN_PID: String(PID), LISTEN_FDS: '2', LISTEN_FDNAMES: 'corproxy:extra' },
    PID,
  );
  t.same(fds, [
    { fd: SD_LISTEN_FDS_START, name: 'corproxy' },
    { fd: SD_LISTEN_FDS_START + 1, name: 'extra' },
  ]);
  t.equal(SD_LISTEN_FDS_START, 3);
});

t.test('names default to "unknown" when systemd sent none', async (t) => {
  t.same(parseListenFds({ LISTEN_PID: String(PID), LISTEN_FDS: '3' }, PID), [
    { fd: 3, name: 'unknown' },
    { fd: 4, name: 'unknown' },
    { fd: 5, name: 'unknown' },
  ]);
});

t.test('nothing is ours without a LISTEN_PID naming this process', async (t) => {
  const cases: Array<[string, Record<string, string | undefined>]> = [
    ['no variables', {}],
    ['LISTEN_FDS only', { LISTEN_FDS: '1' }],
    ['empty LISTEN_PID', { LISTEN_PID: '', LISTEN_FDS: '1' }],
    ['another PID (inherited from a parent)', { LISTEN_PID: String(PID + 1), LISTEN_FDS: '1' }],
    ['LISTEN_PID without LISTEN_FDS', { LISTEN_PID: String(PID) }],
    ['empty LISTEN_FDS', { LISTEN_PID: String(PID), LISTEN_FDS: '' }],
    ['zero descriptors', { LISTEN_PID: String(PID), LISTEN_FDS: '0', LISTEN_FDNAMES: '' }],
  ];
  for (const [name, env] of cases) t.same(parseListenFds(env, PID), [], name);
});

t.test('malformed values are CPX_ERR_LISTEN errors naming the variable', async (t) => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['non-numeric PID', { LISTEN_PID: 'abc', LISTEN_FDS: '1' }, /LISTEN_PID=abc/],
    ['negative count', { LISTEN_PID: String(PID), LISTEN_FDS: '-1' }, /LISTEN_FDS=-1/],
    ['fractional count', { LISTEN_PID: String(PID), LISTEN_FDS: '1.5' }, /LISTEN_FDS=1\.5/],
    ['absurd count', { LISTEN_PID: String(PID), LISTEN_FDS: '100000' }, /exceeds 256/],
    [
      'name count mismatch',
      { LISTEN_PID: String(PID), LISTEN_FDS: '2', LISTEN_FDNAMES: 'one' },
      /1 names for LISTEN_FDS=2/,
    ],
  ];
  for (const [name, env, message] of cases) {
    t.throws(() => parseListenFds(env, PID), { code: 'CPX_ERR_LISTEN', message }, name);
    try {
      parseListenFds(env, PID);
    } catch (err) {
      t.type(err, CorproxyError, `${name}: a CorproxyError`);
    }
  }
});

t.test('the keys to drop from the environment are the three systemd sets', async (t) => {
  t.same([...LISTEN_ENV_KEYS].sort(), ['LISTEN_FDNAMES', 'LISTEN_FDS', 'LISTEN_PID']);
  t.ok(Object.isFrozen(LISTEN_ENV_KEYS));
});
