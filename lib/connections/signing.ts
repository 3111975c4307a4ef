/**
 * What the broker's signing key is used for, each under its own label so no two uses can
 * stand in for one another: install-link signatures, and the per-install secrets derived
 * from the `state` — the PKCE verifier, the OpenID Connect nonce and the browser binding (the
 * install cookie's value, lib/http/install-cookie.ts). Deriving them (HMAC-SHA256
 * of the state) instead of storing them leaves nothing secret in the install-state item and
 * keeps KMS off the public install route: strangers opening install links cannot spend the
 * KMS request quota that refreshes need.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { BrokerError } from '../errors';
import type { SigningKey } from '../ports';

/** For deployments that configured none: every use says what to set. */
export const MISSING_SIGNING_KEY: SigningKey = {
  get: () =>
    Promise.reject(
      new BrokerError('configuration_error', 'No signing key: set BROKER_SIGNING_KEY_SECRET_ARN (AWS; the CDK stack does) or BROKER_SIGNING_KEY_FILE (local)'),
    ),
};

type Purpose = 'install-link' | 'install-result' | 'pkce' | 'oidc-nonce' | 'browser-binding' | 'fingerprint';

function mac(key: Uint8Array, purpose: Purpose, value: string): Buffer {
  return createHmac('sha256', key).update(`${purpose}:${value}`, 'utf8').digest();
}

/** The PKCE verifier of the install behind `state` (RFC 7636 §4.1: 43 characters of base64url, 256 bits). */
export async function pkceVerifierFor(key: SigningKey, state: string): Promise<string> {
  return mac(await key.get(), 'pkce', state).toString('base64url');
}

/** The OpenID Connect `nonce` of the install behind `state`. */
export async function oidcNonceFor(key: SigningKey, state: string): Promise<string> {
  return mac(await key.get(), 'oidc-nonce', state).toString('base64url');
}

/** The browser binding of the install behind `state`: the install cookie's value (base64url, 256 bits). */
export async function browserBindingFor(key: SigningKey, state: string): Promise<string> {
  return mac(await key.get(), 'browser-binding', state).toString('base64url');
}

/** Whether `value` is the browser binding of the install behind `state`, compared in constant time. */
export async function browserBindingValid(key: SigningKey, state: string, value: string): Promise<boolean> {
  return tagMatches(mac(await key.get(), 'browser-binding', state), value);
}

/** The install-link signature of `payload` (base64url). */
export async function signInstallLink(key: SigningKey, payload: string): Promise<string> {
  return mac(await key.get(), 'install-link', payload).toString('base64url');
}

/** Whether `signature` is the install-link signature of `payload`, compared in constant time. */
export async function installLinkSignatureValid(key: SigningKey, payload: string, signature: string): Promise<boolean> {
  return tagMatches(mac(await key.get(), 'install-link', payload), signature);
}

/** Whether the base64url `tag` is exactly `expected` (no other spelling of it), compared in constant time. */
function tagMatches(expected: Buffer, tag: string): boolean {
  const given = Buffer.from(tag, 'base64url');
  return given.length === expected.length && given.toString('base64url') === tag && timingSafeEqual(given, expected);
}

/**
 * The JSON payload of a `<base64url JSON>.<tag>` token (a signed install link, an install result)
 * whose tag `tagValid` accepts; undefined for anything else: longer than `maxChars`, not two parts,
 * a wrong tag, no JSON. The caller checks the payload's shape.
 */
export async function openSignedToken(token: string | undefined, maxChars: number, tagValid: (payload: string, tag: string) => Promise<boolean>): Promise<unknown> {
  const [encoded, tag, extra] = token !== undefined && token.length <= maxChars ? token.split('.') : [];
  if (!encoded || !tag || extra !== undefined || !(await tagValid(encoded, tag))) return undefined;
  try {
    return JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The tag of an install result (the "Connected" page's `?c=`): 128 bits are plenty to stop
 * a forged page of a result that guards nothing secret, and keep the URL short.
 */
export async function signInstallResult(key: SigningKey, payload: string): Promise<string> {
  return mac(await key.get(), 'install-result', payload).subarray(0, 16).toString('base64url');
}

/** Whether `tag` is the install-result tag of `payload`, compared in constant time. */
export async function installResultTagValid(key: SigningKey, payload: string, tag: string): Promise<boolean> {
  return tagMatches(mac(await key.get(), 'install-result', payload).subarray(0, 16), tag);
}

/** A short, non-secret name for the key (stored with the data to notice a replaced key). */
export async function signingKeyFingerprint(key: SigningKey): Promise<string> {
  return mac(await key.get(), 'fingerprint', 'oauth-token-broker').subarray(0, 12).toString('base64url');
}
