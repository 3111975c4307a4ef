import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BrokerError, ERROR_STATUS } from '../../../lib/errors';
import { processTokenResponse, TOKEN_LIFETIME_BOUNDS, type TokenGrantType } from '../../../lib/oauth/token-endpoint';
import { testProvider } from './fixtures';

const NOW = 1_700_000_000_000;
const SECRET = 'refresh-token-secret-value';

const provider = testProvider('acme', {
  display_name: 'Acme',
  auth_mode: 'OAUTH2',
  token_url: 'https://auth.example/token',
  token_response_metadata: ['locationId', 'companyId', 'constructor', '__proto__'],
  tenant_fields: ['locationId', 'companyId'],
  dead_grant_errors: ['invalid_grant', 'BAD_REFRESH_TOKEN'],
  dead_grant_statuses: [401],
});

const NULL_BODY_STATUSES = new Set([204, 205, 304]);

function response(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(NULL_BODY_STATUSES.has(status) ? null : body, { status, headers });
}

const status = fc.oneof(fc.constant(200), fc.integer({ min: 200, max: 599 }));
const grant = fc.constantFrom<TokenGrantType>('authorization_code', 'refresh_token', 'client_credentials');
const anything = fc.oneof(fc.jsonValue(), fc.constant(SECRET), fc.constant(`x ${SECRET} y`));
/** Bodies shaped like token responses, with every field possibly wrong. */
const tokenLikeBody = fc.record(
  {
    access_token: anything,
    token_type: anything,
    expires_in: fc.oneof(anything, fc.double(), fc.integer().map(String)),
    refresh_token: anything,
    scope: anything,
    id_token: anything,
    error: fc.oneof(anything, fc.constantFrom('invalid_grant', 'BAD_REFRESH_TOKEN')),
    status: anything,
    error_type: anything,
    locationId: anything,
    companyId: anything,
  },
  { requiredKeys: [] },
);
const body = fc.oneof(fc.string(), fc.json(), tokenLikeBody.map((b) => JSON.stringify(b)));
const retryAfter = fc.option(fc.oneof(fc.string(), fc.nat().map(String), fc.date({ noInvalidDate: true }).map((d) => d.toUTCString())), { nil: undefined });

// Thousands of cases per test: bounded by the case count, not by the default 30 s, which a busy
// 2-core machine running three test files at once can exceed.
describe('processTokenResponse (property)', { timeout: 180_000 }, () => {
  it('either returns a well-formed result or throws a BrokerError that carries no secret', async () => {
    await fc.assert(
      fc.asyncProperty(status, body, grant, retryAfter, async (httpStatus, text, g, retry) => {
        const headers: Record<string, string> = retry !== undefined ? { 'retry-after': retry.replace(/[\r\n]/g, '') } : {};
        let result;
        try {
          result = await processTokenResponse(provider, response(httpStatus, text, headers), g, { now: () => NOW, secretValues: [SECRET] });
        } catch (err) {
          expect(err).toBeInstanceOf(BrokerError);
          const e = err as BrokerError;
          expect(Object.keys(ERROR_STATUS)).toContain(e.code);
          expect(`${e.message} ${JSON.stringify(e.details)}`).not.toContain(SECRET);
          if (e.code === 'needs_reauth') expect(g).not.toBe('authorization_code');
          return;
        }
        expect(httpStatus).toBeGreaterThanOrEqual(200);
        expect(httpStatus).toBeLessThan(300);
        expect(typeof result.tokens.access_token).toBe('string');
        expect(result.tokens.access_token).not.toBe('');
        expect(result.tokens.token_type).toBe(result.tokens.token_type.toLowerCase());
        if (result.tokens.expires_at !== undefined) {
          expect(Number.isSafeInteger(result.tokens.expires_at)).toBe(true);
          expect(result.tokens.expires_at).toBeGreaterThanOrEqual(NOW + TOKEN_LIFETIME_BOUNDS.minS * 1000);
          expect(result.tokens.expires_at).toBeLessThanOrEqual(NOW + TOKEN_LIFETIME_BOUNDS.maxS * 1000);
        }
        for (const value of Object.values(result.metadata)) expect(typeof value).toBe('string');
        expect(Object.getPrototypeOf(result.metadata)).toBe(Object.prototype);
      }),
      { numRuns: 1000 },
    );
  });

  it('classifies every 429 and 5xx as provider_unavailable', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.constant(429), fc.integer({ min: 500, max: 599 })), body, grant, async (httpStatus, text, g) => {
        const err = await processTokenResponse(provider, response(httpStatus, text), g).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toMatchObject({ code: 'provider_unavailable', details: { http_status: httpStatus } });
      }),
      { numRuns: 300 },
    );
  });
});
