import t from 'tap';
import {
  charsetOfContentType,
  decodeDataUrl,
  decodePacBody,
  fileUrlToPath,
  pacLocationKind,
  pacSourceOf,
  redactUrl,
} from '../../../src/pac/source.js';

t.test('what a pac value is', async (t) => {
  t.equal(pacLocationKind('http://wpad.example/proxy.pac'), 'url');
  t.equal(pacLocationKind('HTTPS://wpad.example/proxy.pac'), 'url');
  t.equal(pacLocationKind('data:,function FindProxyForURL(){}'), 'data');
  t.equal(pacLocationKind('file:///etc/proxy.pac'), 'file-url');
  t.equal(pacLocationKind('/etc/proxy.pac'), 'path');
  t.equal(pacLocationKind('proxy.pac'), 'path');
  t.equal(pacLocationKind('C:\\corp\\proxy.pac'), 'path');
  t.equal(pacLocationKind('ftp://wpad.example/proxy.pac'), 'unsupported');
});

t.test('URLs are shown without credentials or query', async (t) => {
  t.equal(
    redactUrl('http://u:p@wpad.example:8080/proxy.pac?token=s3cret#x'),
    'http://***@wpad.example:8080/proxy.pac?…',
  );
  t.equal(redactUrl('https://wpad.example/p.pac'), 'https://wpad.example/p.pac');
  t.equal(redactUrl('::not a url'), '(unparseable URL)');
});

t.test('file URLs on both platforms', async (t) => {
  t.equal(fileUrlToPath('file:///etc/corp/proxy.pac', 'linux'), '/etc/corp/proxy.pac');
  t.equal(fileUrlToPath('file:///C:/corp/proxy.pac', 'win32'), 'C:\\corp\\proxy.pac');
  t.throws(() => fileUrlToPath('file://host/x', 'linux'));
});

t.test('data: URLs, percent-encoded and base64', async (t) => {
  const script = 'function FindProxyForURL(u, h) { return "DIRECT"; }';
  t.equal(decodeDataUrl(`data:,${encodeURIComponent(script)}`), script);
  t.equal(
    decodeDataUrl(
      `data:application/x-ns-proxy-autoconfig;base64,${Buffer.from(script).toString('base64')}`,
    ),
    script,
  );
  const latin1 = Buffer.from('// caf\u00e9', 'latin1').toString('base64');
  t.equal(decodeDataUrl(`data:text/plain;charset=iso-8859-1;base64,${latin1}`), '// café');
  t.throws(() => decodeDataUrl('data:no-comma'), /data:\[<type>\]/);
  t.throws(() => decodeDataUrl('data:;base64,@@@'), /not base64/);
  t.throws(() => decodeDataUrl('data:,%E0%A4%A'), URIError);
});

t.test('PAC bytes to text: BOMs, declared charsets, UTF-8, Latin-1 fallback', async (t) => {
  const text = 'return "café";';
  t.equal(decodePacBody(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])), text);
  t.equal(
    decodePacBody(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])),
    text,
  );
  const be = Buffer.from(text, 'utf16le').swap16();
  t.equal(decodePacBody(Buffer.concat([Buffer.from([0xfe, 0xff]), be])), text);
  t.equal(decodePacBody(Buffer.from(text, 'utf16le'), 'utf-16le'), text);
  t.equal(decodePacBody(Buffer.from(be), 'utf-16be'), text);
  t.equal(decodePacBody(Buffer.from(text, 'latin1'), 'windows-1252'), text);
  t.equal(decodePacBody(Buffer.from(text, 'latin1')), text, 'invalid UTF-8 falls back to Latin-1');
  t.equal(decodePacBody(Buffer.from(text)), text);
  t.equal(
    charsetOfContentType('application/x-ns-proxy-autoconfig; charset="UTF-16LE"'),
    'utf-16le',
  );
  t.equal(charsetOfContentType('text/plain'), undefined);
  t.equal(charsetOfContentType(undefined), undefined);
});

t.test('config value to source', async (t) => {
  t.equal(pacSourceOf(''), undefined);
  t.same(pacSourceOf('http://u:p@wpad.example/p.pac'), {
    kind: 'url',
    url: 'http://u:p@wpad.example/p.pac',
    display: 'http://***@wpad.example/p.pac',
  });
  t.same(pacSourceOf('/etc/p.pac'), { kind: 'file', path: '/etc/p.pac', display: '/etc/p.pac' });
  const data = pacSourceOf('data:,x');
  t.equal(data?.kind, 'data');
  t.match(data?.display, /^data: URL/);
});
