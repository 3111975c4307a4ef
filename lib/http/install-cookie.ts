/**
 * The install cookie: binds an install's callback to the browser that opened its install link
 * (RFC 6749 §10.12, RFC 9700 §4.7 — login CSRF). Without it, an attacker could consent with
 * their own account, stop before the callback and send that callback URL to a victim, whose
 * browser would finish the install and land on the app's return_to with the attacker's
 * connection id.
 *
 * The authorize route sets one cookie per install; the callback requires it before anything is
 * consumed or exchanged, and clears it once the install is over. The binding is a browser
 * concern, so it lives here at the HTTP edge and the use cases (lib/connections/install.ts)
 * know nothing of cookies.
 *
 * - One cookie per install, named after the state, so several installs can be in flight in one
 *   browser (two tabs) without overwriting each other's binding.
 * - The value is derived from the state with the signing key (signing.ts), as the PKCE verifier
 *   is: nothing more to store, and only the browser that received it can show it.
 * - `SameSite=Lax`: the provider's redirect back is a top-level GET from another site, which
 *   Lax lets through; `HttpOnly`: no script needs it.
 * - Over https the name carries the `__Host-` prefix (so `Secure`, `Path=/`, no `Domain`): a
 *   sibling subdomain cannot plant one for the attacker's own install in the victim's browser
 *   (RFC 6265bis §4.1.3.2). Plain http (the local server) can have neither.
 */
import { createHash } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { browserBindingFor, browserBindingValid } from '../connections/signing';
import { BrokerError } from '../errors';
import type { SigningKey } from '../ports';

const NAME = 'oauth-broker-install-';

/** Whether cookies for the broker reached at `callbackBase` are https-only (`Secure`, `__Host-`). */
function isHttps(callbackBase: string): boolean {
  return /^https:/i.test(callbackBase);
}

/**
 * The cookie name of the install behind `state`: 72 bits of its SHA-256 tell the installs of
 * one browser apart and say nothing of the state itself.
 */
export function installCookieName(state: string, callbackBase: string): string {
  const id = createHash('sha256').update(state, 'utf8').digest('base64url').slice(0, 12);
  return `${isHttps(callbackBase) ? '__Host-' : ''}${NAME}${id}`;
}

function cookie(name: string, value: string, maxAgeS: number, callbackBase: string): string {
  return [`${name}=${value}`, 'HttpOnly', 'SameSite=Lax', 'Path=/', `Max-Age=${maxAgeS}`, ...(isHttps(callbackBase) ? ['Secure'] : [])].join('; ');
}

/** The `Set-Cookie` value the install link's redirect carries: it lives as long as the state. */
export async function installCookie(signingKey: SigningKey, state: string, options: { callbackBase: string; stateTtlMs: number }): Promise<string> {
  const maxAgeS = Math.max(1, Math.ceil(options.stateTtlMs / 1000));
  return cookie(installCookieName(state, options.callbackBase), await browserBindingFor(signingKey, state), maxAgeS, options.callbackBase);
}

/** The `Set-Cookie` value that removes the install's cookie once its callback is answered. */
export function clearedInstallCookie(state: string, callbackBase: string): string {
  return cookie(installCookieName(state, callbackBase), '', 0, callbackBase);
}

/**
 * The request's cookies as `name=value` pairs: API Gateway's payload 2.0 gives them in
 * `event.cookies` (lib/local/server.ts does the same); a `cookie` header, should a caller
 * send one instead, counts too.
 */
function requestCookies(event: APIGatewayProxyEventV2): string[] {
  return [...(event.cookies ?? []), event.headers?.cookie ?? ''].flatMap((cookies) => cookies.split(';')).map((pair) => pair.trim());
}

/**
 * How many install cookies a browser may hold before the install route clears them. Each lives as
 * long as its state and is cleared only when its install ends; a browser made to open hundreds of
 * install links would carry hundreds, until its requests to the broker passed API Gateway's header
 * limit (10 KB) and every install failed for the state's lifetime. Twenty installs in flight in one
 * browser is far more than a person opens.
 */
export const MAX_INSTALL_COOKIES = 20;

/**
 * The `Set-Cookie` values that clear every install cookie the request carries, once it carries
 * `MAX_INSTALL_COOKIES` or more (none below that: installs open in other tabs keep their binding).
 * The install route sends them with the new install's own cookie.
 */
export function staleInstallCookies(event: APIGatewayProxyEventV2, callbackBase: string): string[] {
  const prefix = `${isHttps(callbackBase) ? '__Host-' : ''}${NAME}`;
  const names = new Set(requestCookies(event).filter((pair) => pair.startsWith(prefix)).map((pair) => pair.slice(0, pair.indexOf('='))));
  if (names.size < MAX_INSTALL_COOKIES) return [];
  return [...names].map((name) => cookie(name, '', 0, callbackBase));
}

/**
 * Refuses a callback with our `state` that does not come from the browser that opened its
 * install link: that browser holds the install cookie with the state's binding. Runs before the
 * state is consumed, so a refused callback changes nothing stored and sends no code anywhere.
 */
export async function requireInstallCookie(event: APIGatewayProxyEventV2, signingKey: SigningKey, state: string, callbackBase: string): Promise<void> {
  const name = `${installCookieName(state, callbackBase)}=`;
  for (const pair of requestCookies(event)) {
    if (pair.startsWith(name) && (await browserBindingValid(signingKey, state, pair.slice(name.length)))) return;
  }
  throw new BrokerError(
    'invalid_state',
    "This install was started in another browser, has expired, or this browser blocked its cookie; start again from the app's install link, in one browser",
  );
}
