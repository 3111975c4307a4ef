/**
 * The lifetime rule of docs/design.md, "Bounds on what providers say": what a token response's
 * `expires_in` becomes in the stored `expires_at`.
 */
import { describe, expect, it } from 'vitest';
import { processTokenResponse, RETRY_AFTER_MAX_S, TOKEN_LIFETIME_BOUNDS } from '../../../lib/oauth/token-endpoint';
import type { ProviderInput } from '../../../lib/providers/schema';
import { testProvider } from './fixtures';

const NOW = 1_700_000_000_000;
const base: ProviderInput = { display_name: 'Acme', auth_mode: 'OAUTH2', token_url: 'https://auth.example/token' };

async function expiresAt(body: string, extra: Partial<ProviderInput> = {}): Promise<number | undefined | string> {
  const provider = testProvider('acme', { ...base, ...extra });
  const response = new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
  try {
    const result = await processTokenResponse(provider, response, 'refresh_token', { now: () => NOW });
    return result.tokens.expires_at === undefined ? undefined : (result.tokens.expires_at - NOW) / 1000;
  } catch (err) {
    return (err as { code: string }).code;
  }
}

const min = TOKEN_LIFETIME_BOUNDS.minS;
const max = TOKEN_LIFETIME_BOUNDS.maxS;

describe('token lifetime bounds', () => {
  it.each([
    ['3600', 3600],
    ['"3600"', 3600],
    ['0.5', min],
    ['3', min],
    [String(min), min],
    [String(max), max],
    [String(max + 1), max],
    ['8700000000000', max],
    ['1e300', max],
  ])('expires_in %s → stored lifetime %s s', async (value, lifetime) => {
    expect(await expiresAt(`{"access_token":"at","expires_in":${value}}`)).toBe(lifetime);
  });

  it.each([['-1'], ['-0.5'], ['1e999'], ['"-5"'], ['"Infinity"'], ['"NaN"'], ['"1e3"'], ['true'], ['{}']])(
    'expires_in %s → provider_error',
    async (value) => {
      expect(await expiresAt(`{"access_token":"at","expires_in":${value}}`)).toBe('provider_error');
    },
  );

  it('expires_in 0 → the minimum lifetime by default', async () => {
    expect(await expiresAt('{"access_token":"at","expires_in":0}')).toBe(min);
  });

  it('expires_in 0 → no expiry when the catalogue says expires_in_zero: never_expires (Mailchimp)', async () => {
    expect(await expiresAt('{"access_token":"at","expires_in":0}', { expires_in_zero: 'never_expires' })).toBeUndefined();
    // The catalogue's default lifetime is for an absent expires_in, not for "never".
    expect(await expiresAt('{"access_token":"at","expires_in":0}', { expires_in_zero: 'never_expires', default_expires_in: 7200 })).toBeUndefined();
    expect(await expiresAt('{"access_token":"at","expires_in":60}', { expires_in_zero: 'never_expires' })).toBe(60);
  });

  it('an absent expires_in takes the catalogue default, within the same bounds', async () => {
    expect(await expiresAt('{"access_token":"at"}')).toBeUndefined();
    expect(await expiresAt('{"access_token":"at"}', { default_expires_in: 7200 })).toBe(7200);
    expect(await expiresAt('{"access_token":"at"}', { default_expires_in: 1 })).toBe(min);
    expect(await expiresAt('{"access_token":"at"}', { default_expires_in: 20 * 365 * 24 * 3600 })).toBe(max);
  });
});

describe('Retry-After bounds', () => {
  async function retryAfterS(header: string): Promise<unknown> {
    const provider = testProvider('acme', base);
    const response = new Response('{"error":"slow_down"}', { status: 429, headers: { 'retry-after': header } });
    const err = await processTokenResponse(provider, response, 'refresh_token', { now: () => NOW }).catch((e: unknown) => e);
    return (err as { provider?: { retryAfterS?: number } }).provider?.retryAfterS;
  }

  it.each([
    ['120', 120],
    [' 7 ', 7],
    [String(RETRY_AFTER_MAX_S + 1), RETRY_AFTER_MAX_S],
    ['99999999999999999999', RETRY_AFTER_MAX_S],
    ['9'.repeat(400), RETRY_AFTER_MAX_S],
    ['Fri, 31 Dec 9999 23:59:59 GMT', RETRY_AFTER_MAX_S],
    [new Date(NOW + 30_000).toUTCString(), 30],
    ['Wed, 21 Oct 2015 07:28:00 GMT', 0],
    ['soon', undefined],
  ])('Retry-After %s → %s s', async (header, seconds) => {
    expect(await retryAfterS(header)).toBe(seconds);
  });
});
