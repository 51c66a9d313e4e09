/**
 * Negotiate (RFC 4559) through the optional `kerberos` package (GSSAPI on Unix, SSPI on
 * Windows), loaded with a dynamic import so corproxy runs without it. Every handshake asks
 * the library for a fresh security context, which reads the ticket cache at that moment:
 * a ticket obtained with `kinit` after corproxy started is used without a restart.
 */

/** One GSS-API security context (initiator side). */
export interface GssClient {
  /** The upstream's token (base64; '' for the first step) in, corproxy's token out. */
  step(serverToken: string): Promise<string>;
}

/** Makes security contexts for the HTTP service of a proxy host. */
export interface GssProvider {
  client(host: string): Promise<GssClient>;
}

export type ModuleImporter = (name: string) => Promise<unknown>;

export const KERBEROS_PACKAGE = 'kerberos';

/** What loading the library gave: a provider, or why there is none. */
export type GssLoad =
  | { readonly ok: true; readonly provider: GssProvider }
  | { readonly ok: false; readonly reason: string };

/** The part of the `kerberos` package's API corproxy uses. */
interface KerberosModule {
  initializeClient(service: string, options?: { mechOID?: unknown }): Promise<GssClient>;
  GSS_MECH_OID_SPNEGO?: unknown;
}

function isKerberosModule(m: unknown): m is KerberosModule {
  return (
    typeof m === 'object' &&
    m !== null &&
    typeof (m as { initializeClient?: unknown }).initializeClient === 'function'
  );
}

/**
 * GSS host-based service name of the proxy: `HTTP@host` for GSSAPI, `HTTP/host` for
 * Windows SSPI (RFC 4559 §4.1 uses the HTTP service of the proxy's host name).
 */
export function servicePrincipal(host: string, platform: NodeJS.Platform): string {
  return platform === 'win32' ? `HTTP/${host}` : `HTTP@${host}`;
}

/** Wraps the package as a provider; SPNEGO mechanism when the package names it. */
export function kerberosProvider(mod: KerberosModule, platform: NodeJS.Platform): GssProvider {
  const options = mod.GSS_MECH_OID_SPNEGO === undefined ? {} : { mechOID: mod.GSS_MECH_OID_SPNEGO };
  return {
    client: async (host) => {
      const client = await mod.initializeClient(servicePrincipal(host, platform), options);
      return { step: (token) => client.step(token) };
    },
  };
}

/** The default import, through a variable so TypeScript does not need the package. */
const importModule: ModuleImporter = (name) => import(name);

/** Why an optional package did not load: missing, or broken (e.g. no native binding). */
export function importFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const message = String((err as Error).message ?? err);
  const missing =
    code === 'ERR_MODULE_NOT_FOUND' ||
    code === 'MODULE_NOT_FOUND' ||
    /^Cannot find (package|module)\b/.test(message);
  // The rest of the message names local paths; the first clause says enough.
  return missing
    ? 'is not installed'
    : `failed to load (${message.split(/\n| imported from /)[0]})`;
}

/** Loads `kerberos`; never throws. */
export async function loadKerberos(
  importer: ModuleImporter = importModule,
  platform: NodeJS.Platform = process.platform,
): Promise<GssLoad> {
  let loaded: unknown;
  try {
    loaded = await importer(KERBEROS_PACKAGE);
  } catch (err) {
    return { ok: false, reason: importFailure(err) };
  }
  const mod = (loaded as { default?: unknown } | null)?.default ?? loaded;
  if (!isKerberosModule(mod)) {
    return { ok: false, reason: 'has no initializeClient()' };
  }
  return { ok: true, provider: kerberosProvider(mod, platform) };
}

/** Loads once and remembers the answer (installing the package needs a restart). */
export class NegotiateLoader {
  private loading: Promise<GssLoad> | undefined;

  constructor(private readonly load: () => Promise<GssLoad> = () => loadKerberos()) {}

  get(): Promise<GssLoad> {
    this.loading ??= this.load();
    return this.loading;
  }
}

/** The note shown when Negotiate is offered but the library is not usable. */
export function negotiateHint(reason: string): string {
  return (
    `Negotiate needs the optional ${KERBEROS_PACKAGE} package, which ${reason} ` +
    `(npm install ${KERBEROS_PACKAGE}; NTLM or Basic are used instead when offered)`
  );
}
