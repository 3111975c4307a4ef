/**
 * Drives an OAuth install through a provider's consent with plain `fetch`:
 * redirects followed by hand, cookies kept in a small jar (per host, with
 * paths and expiry honoured), no browser. The broker's install cookie is in
 * that jar too: {@link fetchCallback} brings it back to the callback, as the
 * browser that started the install would.
 */

interface StoredCookie {
  name: string;
  value: string;
  path: string;
  expiresAt: number | undefined;
}

/** A minimal cookie jar: enough for oidc-provider's `_interaction`/`_session` cookies across redirects. */
export class CookieJar {
  /** Cookies by hostname (browsers ignore the port for cookies). */
  private readonly byHost = new Map<string, Map<string, StoredCookie>>();

  /** Stores the `Set-Cookie` headers of a response received from `url`. */
  store(url: URL, response: Response): void {
    const headers = response.headers.getSetCookie();
    if (!headers.length) return;
    let jar = this.byHost.get(url.hostname);
    if (!jar) {
      jar = new Map();
      this.byHost.set(url.hostname, jar);
    }
    for (const header of headers) {
      const [pair = '', ...attrs] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = defaultPath(url);
      let expiresAt: number | undefined;
      for (const attr of attrs) {
        const [k = '', v = ''] = attr.split('=').map((s) => s.trim());
        const key = k.toLowerCase();
        if (key === 'path' && v.startsWith('/')) path = v;
        else if (key === 'max-age') expiresAt = Date.now() + Number(v) * 1000;
        else if (key === 'expires' && expiresAt === undefined) expiresAt = Date.parse(v);
      }
      const id = `${name};${path}`;
      if (expiresAt !== undefined && expiresAt <= Date.now()) jar.delete(id);
      else jar.set(id, { name, value, path, expiresAt });
    }
  }

  /** The `Cookie` header value to send to `url`, or undefined when none apply. */
  header(url: URL): string | undefined {
    const jar = this.byHost.get(url.hostname);
    if (!jar) return undefined;
    const now = Date.now();
    const parts: string[] = [];
    for (const [id, c] of jar) {
      if (c.expiresAt !== undefined && c.expiresAt <= now) {
        jar.delete(id);
        continue;
      }
      if (pathMatches(url.pathname, c.path)) parts.push(`${c.name}=${c.value}`);
    }
    return parts.length ? parts.join('; ') : undefined;
  }
}

function defaultPath(url: URL): string {
  const p = url.pathname;
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

/** Options for {@link followInstall}. */
export interface FollowInstallOptions {
  /** Stop at the first redirect whose path ends with this; default `/callback`. */
  stopWhenPathEndsWith?: string;
  /** Give up after this many hops; default 20. */
  maxHops?: number;
  /** Reuse a jar (e.g. to keep a provider session across installs). */
  jar?: CookieJar;
}

/** The result of {@link followInstall}. */
export interface FollowInstallResult {
  /** The redirect target that ends in `/callback` — not requested. */
  callbackUrl: URL;
  /** Every URL requested, in order. */
  visited: URL[];
  jar: CookieJar;
}

/**
 * Follows redirects from a broker install URL through the provider's consent
 * until the first redirect to a path ending in `/callback`, and returns that
 * URL without requesting it.
 */
export async function followInstall(startUrl: string, options: FollowInstallOptions = {}): Promise<FollowInstallResult> {
  const stopSuffix = options.stopWhenPathEndsWith ?? '/callback';
  const maxHops = options.maxHops ?? 20;
  const jar = options.jar ?? new CookieJar();
  const visited: URL[] = [];
  let url = new URL(startUrl);
  if (url.pathname.endsWith(stopSuffix)) return { callbackUrl: url, visited, jar };

  for (let hop = 0; hop < maxHops; hop += 1) {
    visited.push(url);
    const headers: Record<string, string> = { accept: 'text/html,application/json' };
    const cookie = jar.header(url);
    if (cookie) headers.cookie = cookie;
    const response = await fetch(url, { redirect: 'manual', headers });
    jar.store(url, response);
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      const next = new URL(location, url);
      if (next.pathname.endsWith(stopSuffix)) return { callbackUrl: next, visited, jar };
      url = next;
      continue;
    }
    const body = await response.text();
    throw new Error(
      `followInstall: ${url.href} answered ${response.status} without a redirect: ${body.slice(0, 500)}`,
    );
  }
  throw new Error(`followInstall: more than ${maxHops} redirects from ${startUrl}`);
}

/**
 * Opens a broker install link in the browser whose cookies `jar` holds, without following its
 * redirect: the provider's authorize URL (with the install's `state`), and the jar now holding
 * the broker's install cookie.
 */
export async function openInstall(installUrl: string, jar = new CookieJar(), init: RequestInit = {}): Promise<{ response: Response; authorizeUrl: URL; state: string; jar: CookieJar }> {
  const url = new URL(installUrl);
  const response = await fetch(url, { redirect: 'manual', ...init });
  jar.store(url, response);
  const location = response.headers.get('location');
  if (response.status !== 302 || location === null) throw new Error(`openInstall: ${url.href} answered ${response.status}: ${(await response.text()).slice(0, 500)}`);
  const authorizeUrl = new URL(location);
  return { response, authorizeUrl, state: authorizeUrl.searchParams.get('state') ?? '', jar };
}

/**
 * Requests the callback of an install as the browser that started it: with the jar's cookies
 * (the broker's install cookie among them, unless `init` sends its own `cookie` header). The
 * answer's cookies go back into the jar (the callback clears the install cookie).
 */
export async function fetchCallback(install: Pick<FollowInstallResult, 'callbackUrl' | 'jar'>, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const cookie = install.jar.header(install.callbackUrl);
  if (cookie !== undefined && !headers.has('cookie')) headers.set('cookie', cookie);
  const response = await fetch(install.callbackUrl, { ...init, headers });
  install.jar.store(install.callbackUrl, response);
  return response;
}
