/**
 * NTLM messages and NTLMv2 against MS-NLMP §4.2.4 (the spec's worked NTLMv2 example:
 * user "User", domain "Domain", password "Password", workstation "COMPUTER", server
 * challenge 0123456789abcdef, client challenge aa..aa, time 0).
 */
import t from 'tap';
import { CorproxyError } from '../../../src/errors.js';
import {
  AV,
  agreedFlags,
  authenticateMessage,
  encodeAvPairs,
  FLAGS,
  NEGOTIATE_FLAGS,
  negotiateMessage,
  parseAvPairs,
  parseChallengeMessage,
} from '../../../src/auth/ntlm.js';
import {
  authenticate,
  filetime,
  hmacMd5,
  ntHash,
  ntowfv2,
  v2Responses,
} from '../../../src/auth/ntlm-v2.js';
import { parseAuthenticateMessage } from '../../support/ntlm-server.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** MS-NLMP §4.2.4.3: the CHALLENGE_MESSAGE of the example. */
const CHALLENGE = hex(`
  4e544c4d53535000 02000000 0c000c00 38000000 33828ae2 0123456789abcdef
  0000000000000000 24002400 44000000 060070170000000f
  530065007200760065007200
  02000c0044006f006d00610069006e00 01000c005300650072007600650072000000 0000`);

/** MS-NLMP §4.2.4.1.3: the AV pairs (NbDomainName "Domain", NbComputerName "Server", EOL). */
const TARGET_INFO = hex(
  '02000c0044006f006d00610069006e00 01000c00530065007200760065007200 00000000',
);

t.test('§4.2.4.3 challenge message parses', async (t) => {
  const c = parseChallengeMessage(CHALLENGE);
  t.equal(c.flags, 0xe28a8233);
  t.equal(c.serverChallenge.toString('hex'), '0123456789abcdef');
  t.equal(c.targetName, 'Server');
  t.same(
    c.targetInfo.map((p) => [p.id, p.value.toString('utf16le')]),
    [
      [AV.NB_DOMAIN_NAME, 'Domain'],
      [AV.NB_COMPUTER_NAME, 'Server'],
    ],
  );
  t.equal(c.timestamp, undefined);
  t.equal(encodeAvPairs(c.targetInfo).toString('hex'), TARGET_INFO.toString('hex'), 're-encodes');
});

t.test('§4.2.4.1.1 NTOWFv2 and §4.2.2.1.2 the NT hash', async (t) => {
  const hash = ntHash('Password');
  t.equal(hash.toString('hex'), 'a4f49c406510bdcab6824ee7c30fd852');
  t.equal(ntowfv2(hash, 'User', 'Domain').toString('hex'), '0c868a403bfd7a93a3001ef22ef02e3f');
  t.equal(ntowfv2(hash, 'user', 'Domain').toString('hex'), '0c868a403bfd7a93a3001ef22ef02e3f');
  t.not(
    ntowfv2(hash, 'User', 'DOMAIN').toString('hex'),
    '0c868a403bfd7a93a3001ef22ef02e3f',
    'the domain is not case-folded',
  );
});

t.test('§4.2.4.2 LMv2, NTLMv2 response and session base key', async (t) => {
  const r = v2Responses({
    responseKey: ntowfv2(ntHash('Password'), 'User', 'Domain'),
    serverChallenge: hex('0123456789abcdef'),
    clientChallenge: Buffer.alloc(8, 0xaa),
    time: Buffer.alloc(8),
    targetInfo: TARGET_INFO,
  });
  t.equal(
    r.lmChallengeResponse.toString('hex'),
    '86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa',
  );
  t.equal(r.ntProofStr.toString('hex'), '68cd0ab851e51c96aabc927bebef6a1c');
  t.equal(
    r.ntChallengeResponse.toString('hex'),
    '68cd0ab851e51c96aabc927bebef6a1c' +
      '01010000000000000000000000000000aaaaaaaaaaaaaaaa00000000' +
      TARGET_INFO.toString('hex') +
      '00000000',
  );
  t.equal(r.sessionBaseKey.toString('hex'), '8de40ccadbc14a82f15cb0ad0de95ca3');
});

t.test('HMAC-MD5 (RFC 2104 test case 2)', async (t) => {
  t.equal(
    hmacMd5(
      Buffer.from('Jefe'),
      Buffer.from('what do ya want '),
      Buffer.from('for nothing?'),
    ).toString('hex'),
    '750c783e6ab0b503eaa86e310a5db738',
  );
});

t.test('authenticate() for the §4.2.4 example carries the spec values', async (t) => {
  const msg = authenticate({
    identity: {
      user: 'User',
      domain: 'Domain',
      workstation: 'COMPUTER',
      ntHash: ntHash('Password'),
    },
    negotiate: negotiateMessage(),
    challengeBytes: CHALLENGE,
    challenge: parseChallengeMessage(CHALLENGE),
    clientChallenge: Buffer.alloc(8, 0xaa),
    now: Date.UTC(1601, 0, 1),
  });
  const a = parseAuthenticateMessage(msg);
  t.equal(a.user, 'User');
  t.equal(a.domain, 'Domain');
  t.equal(a.workstation, 'COMPUTER');
  t.equal(a.lmResponse.toString('hex'), '86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa');
  t.equal(a.ntResponse.subarray(0, 16).toString('hex'), '68cd0ab851e51c96aabc927bebef6a1c');
  t.equal(a.mic, undefined, 'no MIC without a server timestamp');
  t.ok((a.flags & FLAGS.UNICODE) !== 0 && (a.flags & FLAGS.OEM) === 0, 'Unicode only');
  t.equal(msg.readUInt32LE(16), 64, 'payload starts right after the 64-byte header');
});

t.test('a server timestamp is used, LM is zeroed and a MIC is added', async (t) => {
  const stamp = filetime(Date.UTC(2024, 0, 2, 3, 4, 5));
  const base = parseChallengeMessage(CHALLENGE);
  const pairs = [...base.targetInfo, { id: AV.TIMESTAMP, value: stamp }];
  const challengeBytes = challengeWith(encodeAvPairs(pairs));
  const negotiate = negotiateMessage();
  const challenge = parseChallengeMessage(challengeBytes);
  t.equal(challenge.timestamp?.toString('hex'), stamp.toString('hex'));
  const identity = { user: 'User', domain: 'Domain', workstation: '', ntHash: ntHash('Password') };
  const msg = authenticate({
    identity,
    negotiate,
    challengeBytes,
    challenge,
    clientChallenge: Buffer.alloc(8, 0xaa),
    now: 0,
  });
  const a = parseAuthenticateMessage(msg);
  t.equal(a.lmResponse.toString('hex'), '00'.repeat(24));
  t.equal(
    a.ntResponse.subarray(24, 32).toString('hex'),
    stamp.toString('hex'),
    'server time in blob',
  );
  const blobPairs = parseAvPairs(a.ntResponse.subarray(44));
  t.equal(blobPairs.find((p) => p.id === AV.FLAGS)?.value.readUInt32LE(0), 2, 'MsvAvFlags MIC bit');
  // The MIC is HMAC-MD5(SessionBaseKey, NEGOTIATE || CHALLENGE || AUTHENTICATE with MIC zeroed).
  const responseKey = ntowfv2(identity.ntHash, 'User', 'Domain');
  const proof = hmacMd5(responseKey, challenge.serverChallenge, a.ntResponse.subarray(16));
  const zeroed = Buffer.from(msg);
  zeroed.fill(0, 72, 88);
  const want = hmacMd5(hmacMd5(responseKey, proof), negotiate, challengeBytes, zeroed);
  t.equal(a.mic?.toString('hex'), want.toString('hex'));
});

t.test('the local clock is used without a server timestamp', async (t) => {
  const msg = authenticate({
    identity: { user: 'u', domain: '', workstation: '', ntHash: ntHash('p') },
    negotiate: negotiateMessage(),
    challengeBytes: CHALLENGE,
    challenge: parseChallengeMessage(CHALLENGE),
    clientChallenge: Buffer.alloc(8, 1),
    now: Date.UTC(2020, 5, 1),
  });
  const a = parseAuthenticateMessage(msg);
  t.equal(
    a.ntResponse.subarray(24, 32).toString('hex'),
    filetime(Date.UTC(2020, 5, 1)).toString('hex'),
  );
});

t.test('filetime: 1970-01-01 is 116444736000000000 × 100 ns after 1601', async (t) => {
  t.equal(filetime(0).readBigUInt64LE(), 116444736000000000n);
  t.equal(filetime(1).readBigUInt64LE(), 116444736000010000n);
});

t.test('negotiate message: signature, type 1, our flags, no names', async (t) => {
  const m = negotiateMessage();
  t.equal(m.subarray(0, 8).toString('latin1'), 'NTLMSSP\0');
  t.equal(m.readUInt32LE(8), 1);
  t.equal(m.readUInt32LE(12), NEGOTIATE_FLAGS);
  t.equal(m.length, 32);
  for (const f of [
    FLAGS.UNICODE,
    FLAGS.NTLM,
    FLAGS.EXTENDED_SESSIONSECURITY,
    FLAGS.REQUEST_TARGET,
  ]) {
    t.ok((NEGOTIATE_FLAGS & f) !== 0, `flag 0x${f.toString(16)}`);
  }
});

t.test('OEM strings when the server does not offer Unicode', async (t) => {
  const flags = agreedFlags(NEGOTIATE_FLAGS, FLAGS.OEM | FLAGS.NTLM);
  t.equal(flags & FLAGS.UNICODE, 0);
  t.not(flags & FLAGS.OEM, 0);
  t.not(agreedFlags(NEGOTIATE_FLAGS, FLAGS.NTLM) & FLAGS.OEM, 0, 'OEM when neither is offered');
  const msg = authenticateMessage({
    flags,
    lmResponse: Buffer.alloc(24),
    ntResponse: Buffer.alloc(48),
    domain: 'CORP',
    user: 'alice',
    workstation: 'WS',
    withMic: false,
  });
  const a = parseAuthenticateMessage(msg);
  t.same([a.domain, a.user, a.workstation], ['CORP', 'alice', 'WS']);
  t.equal(msg.length, 64 + 24 + 48 + 4 + 5 + 2, 'one byte per character');
});

t.test('an over-long field is refused', async (t) => {
  t.throws(
    () =>
      authenticateMessage({
        flags: FLAGS.UNICODE,
        lmResponse: Buffer.alloc(24),
        ntResponse: Buffer.alloc(48),
        domain: '',
        user: 'x'.repeat(40_000),
        workstation: '',
        withMic: false,
      }),
    { code: 'CPX_ERR_CONFIG_INVALID' },
  );
});

/** A challenge like §4.2.4.3 but with `info` as TargetInfo. */
function challengeWith(info: Buffer, type = 2): Buffer {
  const head = Buffer.from(CHALLENGE.subarray(0, 48));
  head.writeUInt32LE(type, 8);
  const name = Buffer.from('Server', 'utf16le');
  head.writeUInt16LE(name.length, 12);
  head.writeUInt16LE(name.length, 14);
  head.writeUInt32LE(48, 16);
  head.writeUInt16LE(info.length, 40);
  head.writeUInt16LE(info.length, 42);
  head.writeUInt32LE(48 + name.length, 44);
  return Buffer.concat([head, name, info]);
}

t.test('malformed challenges are CPX_ERR_UPSTREAM_PROTOCOL', async (t) => {
  const cases: ReadonlyArray<readonly [string, Buffer, RegExp]> = [
    ['too short', CHALLENGE.subarray(0, 20), /only 20 bytes/],
    ['no signature', Buffer.concat([Buffer.from('XTLMSSP\0'), CHALLENGE.subarray(8)]), /signature/],
    ['wrong type', challengeWith(TARGET_INFO, 3), /message type 3, not 2/],
    ['field past the end', CHALLENGE.subarray(0, 70), /TargetInfoFields points past/],
    ['truncated pair', challengeWith(hex('02000c0044006f00')), /truncated/],
    ['no EOL', challengeWith(hex('02000200aaaa')), /does not end with MsvAvEOL/],
    ['short timestamp', challengeWith(hex('0700040000000000 00000000')), /MsvAvTimestamp/],
  ];
  for (const [name, buf, message] of cases) {
    const err = (() => {
      try {
        parseChallengeMessage(buf);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    t.ok(err instanceof CorproxyError, name);
    t.match(err, { code: 'CPX_ERR_UPSTREAM_PROTOCOL', message }, name);
  }
});

t.test("squid's ntlm_fake_auth challenge: garbage name offset, no target info", async (t) => {
  // Captured from squid 5.7 with auth_param ntlm program ntlm_fake_auth.
  const squid = Buffer.from(
    'TlRMTVNTUAACAAAACQAJAK6qqqoHggig3T9j1y1AWFAAAAAAAAA6AFdPUktHUk9VUA==',
    'base64',
  );
  const c = parseChallengeMessage(squid);
  t.equal(c.serverChallenge.toString('hex'), 'dd3f63d72d405850');
  t.equal(c.targetName, '', 'the out-of-range name is ignored');
  t.same(c.targetInfo, [], 'no NEGOTIATE_TARGET_INFO flag: bytes 40-47 are not read as fields');
  t.equal(c.flags & FLAGS.TARGET_INFO, 0);
});

t.test('a 32-byte challenge without target info parses', async (t) => {
  const short = Buffer.from(CHALLENGE.subarray(0, 32));
  short.writeUInt16LE(0, 12); // no target name
  const c = parseChallengeMessage(short);
  t.same(c.targetInfo, []);
  t.equal(c.targetName, '');
});
