/**
 * Issuer checks on the callback, for providers whose catalogue entry has an `oidc` block:
 * - RFC 9207 (https://www.rfc-editor.org/rfc/rfc9207): the authorization response's `iss`
 *   must name the provider's issuer, so a code meant for another server (mix-up) is refused
 *   before it is sent anywhere;
 * - OpenID Connect Core §3.1.3.7 (https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation):
 *   the token response's `id_token` must verify against the issuer's keys, name the issuer,
 *   be meant for our client (`aud`, `azp`), be unexpired, and carry the nonce we sent.
 *
 * Why jose and not oauth4webapi's `processAuthorizationCodeResponse`: that processor takes the
 * whole token response and insists on RFC-shaped bodies (`token_type` present, ...) that our
 * catalogue's providers do not all send (token-endpoint.ts parses those); it checks id_token
 * claims but leaves the signature to a separate call keyed on discovery metadata; and it has no
 * public way to expect an issuer computed from the token (Microsoft's `{tid}` template). jose's
 * `jwtVerify` with `createRemoteJWKSet` (same author, already in the tree through oidc-provider)
 * does exactly the signature and claim checks. The RFC 9207 comparison is one string
 * comparison (or the template match from lib/providers/issuer.ts), so it is done here too.
 */
import { createRemoteJWKSet, customFetch, decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { BrokerError } from '../errors';
import { expectedIssuer, issuerMatches, issuerTemplateClaims } from '../providers/issuer';
import type { OidcDefinition, Provider } from '../providers/schema';
import { assertTransportAllowed } from './provider-url';
import { MAX_RESPONSE_BYTES, readCapped } from './response-cap';

export interface IdTokenExpectations {
  /** Our client id at the provider: the audience. */
  clientId: string;
  /** The nonce sent on the authorize request (derived from the state); undefined when none was sent. */
  nonce?: string;
  /** Epoch ms (the broker's clock). */
  now: number;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** Signature algorithms accepted: asymmetric only (no `none`, no HMAC keyed with the public client secret). */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
/** Seconds of clock difference tolerated on `exp`/`iat`/`nbf`. */
const CLOCK_TOLERANCE_S = 60;

/**
 * RFC 9207 §2.4: when the provider says who it is on the callback, it must be the issuer we
 * expect; `authorization_response_iss: required` also refuses a callback that does not say.
 * Providers without an `oidc` block are not checked (we would not know what to compare with).
 */
export function checkAuthorizationResponseIssuer(provider: Pick<Provider, 'key' | 'oidc'>, iss: string | undefined): void {
  const oidc = provider.oidc;
  if (oidc === undefined) return;
  if (iss === undefined || iss === '') {
    if (oidc.authorization_response_iss === 'required') {
      throw new BrokerError('issuer_mismatch', `The callback does not say which server issued the code (no iss), which provider "${provider.key}" always does; start the install again`);
    }
    return;
  }
  if (!issuerMatches(oidc.issuer, iss)) {
    throw new BrokerError('issuer_mismatch', `The callback's code was issued by another server than provider "${provider.key}"; nothing was stored. Start the install again from the app`);
  }
}

/**
 * Validates the token response's id_token for a provider with an `oidc` block and returns its
 * claims; undefined when the provider has no such block, or the id_token is optional and absent.
 * Throws `id_token_invalid` (refused token), `provider_unavailable` when the keys cannot be fetched,
 * or `provider_error` when the discovery document or the keys are larger than `MAX_RESPONSE_BYTES`.
 */
export async function validateIdToken(provider: Pick<Provider, 'key' | 'oidc'>, idToken: string | undefined, expect: IdTokenExpectations): Promise<JWTPayload | undefined> {
  const oidc = provider.oidc;
  if (oidc === undefined) return undefined;
  const invalid = (reason: string, cause?: unknown) =>
    new BrokerError('id_token_invalid', `Provider "${provider.key}" sent an id_token that does not verify (${reason}); nothing was stored. Start the install again`, {
      cause,
      details: { reason },
    });
  if (idToken === undefined) {
    if (oidc.id_token === 'required') throw invalid('missing');
    return undefined;
  }
  let unverified: JWTPayload;
  try {
    unverified = decodeJwt(idToken);
  } catch (err) {
    throw invalid('malformed', err);
  }
  // A templated issuer takes the token's own claim; the signature check below is what makes it trustworthy.
  const issuer = expectedIssuer(oidc.issuer, unverified);
  if (issuer === undefined) throw invalid(`no usable ${issuerTemplateClaims(oidc.issuer).join(', ')} claim for the issuer`);

  const keys = await signingKeys(provider.key, oidc, expect);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, keys, {
      issuer: oidc.issuer_aliases.length > 0 ? [issuer, ...oidc.issuer_aliases] : issuer,
      audience: expect.clientId,
      algorithms: ALGORITHMS,
      currentDate: new Date(expect.now),
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
    }));
  } catch (err) {
    if (err instanceof KeySetTooLarge) throw answerTooLarge(provider.key, 'signing keys are');
    if (err instanceof errors.JWKSTimeout || isFetchFailure(err)) {
      throw new BrokerError('provider_unavailable', `Provider "${provider.key}": its signing keys could not be fetched; try again`, { cause: err, provider: { network: true } });
    }
    throw invalid(joseReason(err), err);
  }
  // OIDC Core §3.1.3.7 items 4-5: with several audiences, the authorized party must be us.
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== expect.clientId) throw invalid('azp');
  if (expect.nonce !== undefined && payload.nonce !== expect.nonce) throw invalid('nonce');
  return payload;
}

/** The tenant the catalogue's `oidc.tenant_claim` names in validated claims (strings and numbers only). */
export function tenantFromClaims(provider: Pick<Provider, 'oidc'>, claims: JWTPayload | undefined): string | undefined {
  const name = provider.oidc?.tenant_claim;
  if (name === undefined || claims === undefined || !Object.hasOwn(claims, name)) return undefined;
  const value = claims[name];
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** The catalogue's `oidc.metadata_claims` of validated claims, as strings (Google's `hd`); none without a validated token. */
export function metadataFromClaims(provider: Pick<Provider, 'oidc'>, claims: JWTPayload | undefined): Record<string, string> {
  const entries: Array<[string, string]> = [];
  for (const name of provider.oidc?.metadata_claims ?? []) {
    const value = claims !== undefined && Object.hasOwn(claims, name) ? claims[name] : undefined;
    if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) entries.push([name, String(value)]);
  }
  return Object.fromEntries(entries);
}

// ---- keys -----------------------------------------------------------------------------------

/**
 * An answer over `MAX_RESPONSE_BYTES` from the issuer's discovery or keys: `provider_error`, the
 * code the token endpoint gives its own oversized answers. Not `provider_unavailable`: a provider
 * that sends a 300 MB key set is broken, not down: "try again" would fetch it again, and a fault in
 * the provider would be counted as its outage. Not `id_token_invalid`: the person's id_token is not
 * what failed, and starting the install again cannot help. Not `configuration_error` (the code for a
 * document that names another issuer): the catalogue may be right; the provider's answer is wrong.
 * The operator reads which provider and which document.
 */
function answerTooLarge(providerKey: string, what: string): BrokerError {
  return new BrokerError('provider_error', `Provider "${providerKey}": its ${what} larger than ${MAX_RESPONSE_BYTES / 1024} KiB; nothing was stored`);
}

/** Thrown through jose by `cappedKeySetFetch`; `validateIdToken` turns it into `answerTooLarge`. */
class KeySetTooLarge extends Error {}

/**
 * The fetch jose's `createRemoteJWKSet` uses: the key set read through the broker's cap, and jose
 * handed a Response holding what was read. jose (webapi/jwks/remote.js) calls the fetch with its
 * own timeout signal, checks only `status` (200) and then reads `response.json()`, whole; an
 * error thrown here reaches `jwtVerify`'s caller unchanged (a `TimeoutError` becomes `JWKSTimeout`).
 */
function cappedKeySetFetch(fetchImpl: typeof fetch | undefined): typeof fetch {
  return async (input, init) => {
    // The global fetch is looked up at each call, as jose itself would.
    const response = await (fetchImpl ?? fetch)(input, init);
    // Any other status is jose's "Expected 200 OK" (provider_unavailable): its body is not read.
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      return new Response(null, { status: response.status });
    }
    let text: string | undefined;
    try {
      text = await readCapped(response);
    } catch (err) {
      // jose read the body itself and reported any failure as the key set's (provider_unavailable); thrown
      // from here, a connection cut mid-body (undici's TypeError 'terminated') would pass through jose as
      // it is and be taken for a bad id_token. jose's timeout stays a TimeoutError (its JWKSTimeout).
      if (err instanceof Error && err.name === 'TimeoutError') throw err;
      throw new TypeError('fetch failed: the signing keys could not be read', { cause: err });
    }
    if (text === undefined) throw new KeySetTooLarge();
    return new Response(text, { status: 200 });
  };
}

/** Key sets per fetch implementation and URL: jose caches the keys and rate-limits refetches inside each. */
const keySets = new WeakMap<object, Map<string, JWTVerifyGetKey>>();
const DEFAULT_FETCH = {};

async function signingKeys(providerKey: string, oidc: OidcDefinition, expect: IdTokenExpectations): Promise<JWTVerifyGetKey> {
  const jwksUri = oidc.jwks_uri ?? (await discoveredJwksUri(providerKey, oidc.issuer, expect));
  // The keys decide whose account an id_token names (tenant_claim): fetched in clear, they could be swapped.
  // The discovered jwks_uri is the provider's to write, and jose fetches whatever URL it is given.
  assertTransport(providerKey, 'jwks_uri', jwksUri);
  const owner = expect.fetch ?? DEFAULT_FETCH;
  let byUrl = keySets.get(owner);
  if (!byUrl) keySets.set(owner, (byUrl = new Map()));
  let keys = byUrl.get(jwksUri);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(jwksUri), {
      timeoutDuration: expect.timeoutMs ?? 5_000,
      [customFetch]: cappedKeySetFetch(expect.fetch),
    });
    byUrl.set(jwksUri, keys);
  }
  return keys;
}

const discovered = new Map<string, string>();

/** `jwks_uri` from the issuer's discovery document (OIDC Discovery §4), whose `issuer` must be the same (§4.3). */
async function discoveredJwksUri(providerKey: string, issuer: string, expect: IdTokenExpectations): Promise<string> {
  const known = discovered.get(issuer);
  if (known) return known;
  const unavailable = (cause?: unknown) =>
    new BrokerError('provider_unavailable', `Provider "${providerKey}": its OpenID configuration could not be read; try again`, { cause, provider: { network: true } });
  const configurationUrl = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  assertTransport(providerKey, 'oidc.issuer', configurationUrl);
  let document: unknown;
  try {
    const response = await (expect.fetch ?? fetch)(configurationUrl, {
      redirect: 'manual',
      signal: AbortSignal.timeout(expect.timeoutMs ?? 5_000),
      headers: { accept: 'application/json' },
    });
    if (response.status !== 200) throw unavailable();
    const text = await readCapped(response);
    if (text === undefined) throw answerTooLarge(providerKey, 'OpenID configuration is');
    document = JSON.parse(text);
  } catch (err) {
    throw err instanceof BrokerError ? err : unavailable(err);
  }
  const config = document as { issuer?: unknown; jwks_uri?: unknown };
  if (config.issuer !== issuer || typeof config.jwks_uri !== 'string' || !/^https?:\/\//.test(config.jwks_uri)) {
    throw new BrokerError('configuration_error', `Provider "${providerKey}": the OpenID configuration at ${issuer} does not name this issuer and a jwks_uri`);
  }
  discovered.set(issuer, config.jwks_uri);
  return config.jwks_uri;
}

/** The https rule for the URLs jose and discovery fetch outside providerUrl. */
function assertTransport(providerKey: string, field: string, value: string): void {
  assertTransportAllowed(URL.canParse(value) ? new URL(value) : undefined, providerKey, field);
}

function joseReason(err: unknown): string {
  if (err instanceof errors.JWTClaimValidationFailed) return err.claim;
  if (err instanceof errors.JWTExpired) return 'exp';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'alg';
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey) return 'signature';
  return 'malformed';
}

function isFetchFailure(err: unknown): boolean {
  // jose lets fetch errors through (TypeError "fetch failed"), and reports a non-200 JWKS answer as JOSEError.
  return (err instanceof TypeError && /fetch/i.test(err.message)) || (err instanceof errors.JOSEError && /JSON Web Key Set|response/i.test(err.message) && !(err instanceof errors.JWKSNoMatchingKey));
}
