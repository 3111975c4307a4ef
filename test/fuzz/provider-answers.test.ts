/**
 * Fuzz every parser of provider answers (issue 9, "Proof"): the token responses of all three
 * grants, error bodies in every nesting providers use, Retry-After, revocation answers, plus
 * transport failures and bodies that break mid-read, through the real request builders and the
 * one validation path of lib/oauth/token-endpoint.ts, for catalogue entries of every shape.
 *
 * Properties: an answer is either a well-formed result (a non-empty access token, an expiry
 * within TOKEN_LIFETIME_BOUNDS, string metadata) or a BrokerError with a typed code of the
 * provider family (`needs_reauth` only where a grant can die); a Retry-After becomes a whole,
 * non-negative, finite number of seconds or nothing; no error carries what the request sent
 * (client secret, code, PKCE verifier, refresh or access token) in its message, details or causes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../lib/errors';
import { clientCredentialsGrant, exchangeCode, refreshGrant, revokeToken, TOKEN_LIFETIME_BOUNDS, type TokenGrantResult } from '../../lib/oauth/token-endpoint';
import type { ProviderInput } from '../../lib/providers/schema';
import { testProvider } from '../unit/oauth/fixtures';
import { echoedSecrets, FUZZ_APP, FUZZ_SEED, fuzzAssert, fuzzRuns, isTypedError, providerFetch, type ProviderAnswer, type ProviderLog } from '../support/fuzz';
import { errorBody, providerAnswer, providerStatus, retryAfter } from './arbitraries';

const FILE = 'test/fuzz/provider-answers.test.ts';
const NOW = 1_800_000_000_000;

/** Cases per parser. */
export const PROVIDER_ANSWER_RUNS = { grants: 1_500, retryAfter: 400, revocation: 700 } as const;

const base = { display_name: 'Fuzzed', auth_mode: 'OAUTH2', token_url: 'https://provider.fuzz/token' } as const;
/** Catalogue entries of every request shape and answer rule the catalogue can express. */
const SHAPES: Record<string, ProviderInput> = {
  rfc: { ...base, dead_grant_errors: ['invalid_grant'], revocation: { url: 'https://provider.fuzz/revoke' } },
  json: { ...base, body_format: 'json', omit_grant_type: true, dead_grant_errors: ['INVALID_REFRESH_TOKEN'], revocation: { url: 'https://provider.fuzz/revoke', auth: 'basic', token: 'access_token' } },
  basic: { ...base, token_request_auth_method: 'basic', dead_grant_statuses: [401], expires_in_zero: 'never_expires', default_expires_in: 7200, revocation: { url: 'https://provider.fuzz/revoke/${token}', token_in: 'path', method: 'DELETE', auth: 'none' } },
  query: { ...base, token_request_method: 'GET', body_format: 'query', token_response_metadata: ['account_id'], tenant_fields: ['account_id'], revocation: { url: 'https://provider.fuzz/revoke', auth: 'bearer_access_token' } },
};
const providers = Object.fromEntries(Object.entries(SHAPES).map(([key, input]) => [key, testProvider(key, input)]));
const shape = fc.constantFrom(...Object.keys(SHAPES));

/** Each thing a request sent that must never come back in an error. */
const SENT = { code: 'code-sent-0123456789abcdef', verifier: 'verifier-sent-0123456789abcdef0123456789abcdef', refreshToken: 'rt-sent-0123456789abcdef', accessToken: 'at-sent-0123456789abcdef' };
const secrets = [FUZZ_APP.client_secret, ...Object.values(SENT)];

/** Everything an error says: message, details, provider facts, and the same for every cause. */
function everythingSaid(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof Error) parts.push(e.name, e.message);
    if (e instanceof BrokerError) parts.push(JSON.stringify(e.details), JSON.stringify(e.provider ?? {}));
    if (!(e instanceof Error)) parts.push(String(e));
  }
  return parts.join('\n');
}

function checkFailure(err: unknown, grantCanDie: boolean): BrokerError {
  expect(err).toBeInstanceOf(BrokerError);
  const e = err as BrokerError;
  expect(isTypedError(e.code)).toBe(true);
  const allowed = grantCanDie ? ['provider_error', 'provider_unavailable', 'provider_timeout', 'needs_reauth'] : ['provider_error', 'provider_unavailable', 'provider_timeout'];
  expect(allowed, `${e.code}: ${e.message}`).toContain(e.code);
  expect(echoedSecrets(everythingSaid(e), secrets)).toEqual([]);
  const retry = e.provider?.retryAfterS;
  if (retry !== undefined) {
    expect(Number.isSafeInteger(retry), `retry_after_s ${retry}`).toBe(true);
    expect(retry).toBeGreaterThanOrEqual(0);
  }
  return e;
}

function checkResult(result: TokenGrantResult): void {
  expect(typeof result.tokens.access_token).toBe('string');
  expect(result.tokens.access_token).not.toBe('');
  const expiresAt = result.tokens.expires_at;
  if (expiresAt !== undefined) {
    expect(expiresAt).toBeGreaterThanOrEqual(NOW + TOKEN_LIFETIME_BOUNDS.minS * 1000);
    expect(expiresAt).toBeLessThanOrEqual(NOW + TOKEN_LIFETIME_BOUNDS.maxS * 1000);
    expect(Number.isNaN(new Date(expiresAt).getTime())).toBe(false);
  }
  for (const value of Object.values(result.metadata)) expect(typeof value).toBe('string');
  expect(result.grantedScopes === undefined || result.grantedScopes.every((s) => typeof s === 'string' && s !== '')).toBe(true);
}

/** Answers that reach the parser: any HTTP answer (weighted to error bodies), a transport failure, a broken body. */
const answer: fc.Arbitrary<ProviderAnswer> = fc.oneof(
  { weight: 3, arbitrary: providerAnswer },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('http' as const), status: providerStatus, headers: fc.record({ 'retry-after': retryAfter }, { requiredKeys: [] }), body: errorBody }) },
);

// Thousands of cases per test: bounded by the case count, not by the default 30 s, which a busy
// 2-core machine running three test files at once can exceed.
describe(`provider answers (FUZZ_SEED=${FUZZ_SEED})`, { timeout: 180_000 }, () => {
  it(`token responses of every grant, for every catalogue shape: ${fuzzRuns(PROVIDER_ANSWER_RUNS.grants)} cases`, async () => {
    await fuzzAssert(
      fc.asyncProperty(shape, fc.constantFrom('authorization_code', 'refresh_token', 'client_credentials'), answer, async (key, grant, a) => {
        const log: ProviderLog = { calls: 0, issued: new Set() };
        const options = { fetch: providerFetch([a], log), now: () => NOW, timeoutMs: 1_000 };
        const provider = providers[key]!;
        let result: TokenGrantResult;
        try {
          if (grant === 'authorization_code') result = await exchangeCode(provider, FUZZ_APP, { code: SENT.code, redirectUri: 'https://broker.fuzz/cb', codeVerifier: SENT.verifier }, options);
          else if (grant === 'refresh_token') result = await refreshGrant(provider, FUZZ_APP, { refreshToken: SENT.refreshToken }, options);
          else result = await clientCredentialsGrant(provider, FUZZ_APP, { scopes: ['read'] }, options);
        } catch (err) {
          checkFailure(err, grant !== 'authorization_code');
          return;
        }
        expect(log.calls).toBe(1);
        checkResult(result);
      }),
      { runs: fuzzRuns(PROVIDER_ANSWER_RUNS.grants), offset: 11, file: FILE },
    );
  });

  it(`Retry-After on 429 and 5xx: ${fuzzRuns(PROVIDER_ANSWER_RUNS.retryAfter)} cases`, async () => {
    await fuzzAssert(
      fc.asyncProperty(fc.oneof(fc.constant(429), fc.integer({ min: 500, max: 599 })), retryAfter, fc.oneof(errorBody, fc.string()), async (status, header, body) => {
        const options = { fetch: providerFetch([{ kind: 'http', status, headers: { 'retry-after': header }, body }], { calls: 0, issued: new Set() }), now: () => NOW };
        const err = await refreshGrant(providers.rfc!, FUZZ_APP, { refreshToken: SENT.refreshToken }, options).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(checkFailure(err, true).code).toBe('provider_unavailable');
      }),
      { runs: fuzzRuns(PROVIDER_ANSWER_RUNS.retryAfter), offset: 12, file: FILE },
    );
  });

  it(`revocation answers, for every revocation shape: ${fuzzRuns(PROVIDER_ANSWER_RUNS.revocation)} cases`, async () => {
    await fuzzAssert(
      fc.asyncProperty(shape, answer, async (key, a) => {
        const log: ProviderLog = { calls: 0, issued: new Set() };
        const tokens = { access_token: SENT.accessToken, refresh_token: SENT.refreshToken, token_type: 'bearer' };
        try {
          await revokeToken(providers[key]!, FUZZ_APP, { tokens }, { fetch: providerFetch([a], log), now: () => NOW, timeoutMs: 1_000 });
        } catch (err) {
          checkFailure(err, false);
        }
        expect(log.calls).toBe(1);
      }),
      { runs: fuzzRuns(PROVIDER_ANSWER_RUNS.revocation), offset: 13, file: FILE },
    );
  });
});
