/**
 * The PAC file corproxy serves at /proxy.pac for GUI applications and browsers: every
 * request goes to corproxy (which applies `direct`, the corporate PAC and the upstream
 * list), except the local machine, which browsers reach directly anyway. Pure.
 */

/** The listener address as a PAC proxy literal (IPv6 in brackets). */
function proxyLiteral(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The PAC script text that sends everything but loopback through corproxy at host:port. */
export function wrapperPac(host: string, port: number, version: string): string {
  const proxy = proxyLiteral(host, port);
  return [
    `// corproxy ${version}: send everything through the local corproxy daemon at ${proxy}.`,
    '// corproxy itself applies the direct rules, the corporate PAC and the upstream list.',
    'function FindProxyForURL(url, host) {',
    '  if (host === "localhost" || host === "::1" || host === "[::1]" ||',
    '      shExpMatch(host, "127.*") || shExpMatch(host, "*.localhost")) {',
    '    return "DIRECT";',
    '  }',
    `  return "PROXY ${proxy}";`,
    '}',
    '',
  ].join('\n');
}

/** The MIME type browsers expect for PAC files. */
export const PAC_CONTENT_TYPE = 'application/x-ns-proxy-autoconfig';
