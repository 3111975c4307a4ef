import { describe, expect, it } from 'vitest';
import { BrokerError, errorBody, providerErrorCode } from '../../lib/errors';
import { errorJson } from '../../lib/http/responses';

describe('BrokerError provider facts', () => {
  it('are typed on `provider` and shown to callers in details under the API names', () => {
    const err = new BrokerError('provider_unavailable', 'try later', {
      provider: { grant: 'refresh_token', httpStatus: 429, error: 'rate_limited', retryAfterS: 30 },
    });
    expect(err.provider).toEqual({ grant: 'refresh_token', httpStatus: 429, error: 'rate_limited', retryAfterS: 30 });
    expect(JSON.stringify(errorBody(err))).toBe(
      '{"error":{"code":"provider_unavailable","message":"try later","details":{"grant":"refresh_token","http_status":429,"provider_error":"rate_limited","retry_after_s":30}}}',
    );
  });

  it('list the provider facts before the other details', () => {
    const err = new BrokerError('provider_error', 'bad field', { provider: { grant: 'authorization_code', httpStatus: 200 }, details: { field: 'access_token' } });
    expect(Object.keys(err.details)).toEqual(['grant', 'http_status', 'field']);
  });

  it('leave out facts that are not known', () => {
    const err = new BrokerError('needs_reauth', 'dead', { provider: { error: undefined, httpStatus: 401 } });
    expect(err.details).toEqual({ http_status: 401 });
  });

  it('are absent on an error that did not come from a provider', () => {
    const err = new BrokerError('invalid_request', 'no', { details: { field: 'limit' } });
    expect(err.provider).toBeUndefined();
    expect(err.details).toEqual({ field: 'limit' });
  });
});

describe('providerErrorCode', () => {
  it("is the provider's own error code when it gave one", () => {
    expect(providerErrorCode(new BrokerError('needs_reauth', 'x', { provider: { error: 'invalid_grant', httpStatus: 400 } }))).toBe('invalid_grant');
  });

  it('is the HTTP status when the provider gave no code', () => {
    expect(providerErrorCode(new BrokerError('provider_unavailable', 'x', { provider: { httpStatus: 503 } }))).toBe('503');
  });

  it('is undefined for a network failure, and for errors that are not provider failures', () => {
    expect(providerErrorCode(new BrokerError('provider_unavailable', 'x', { provider: { network: true } }))).toBeUndefined();
    expect(providerErrorCode(new BrokerError('invalid_request', 'x'))).toBeUndefined();
    expect(providerErrorCode(new Error('x'))).toBeUndefined();
  });
});

describe('errorJson', () => {
  it("sets Retry-After from the provider failure's retryAfterS", () => {
    const response = errorJson(new BrokerError('provider_unavailable', 'later', { provider: { retryAfterS: 120 } }));
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('120');
  });

  it('sets no Retry-After without one', () => {
    expect(errorJson(new BrokerError('provider_error', 'bad', { provider: { httpStatus: 400 } })).headers['retry-after']).toBeUndefined();
  });
});
