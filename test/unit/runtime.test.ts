/** What the environment chooses for the token cipher's data keys (lib/runtime.ts). */
import { describe, expect, it } from 'vitest';
import { dataKeysFromEnv } from '../../lib/runtime';

describe('dataKeysFromEnv', () => {
  it('cached data keys with the default limits when nothing is set', () => {
    expect(dataKeysFromEnv({})).toEqual({ dataKeys: 'cached', cache: {} });
  });

  it('per_connection, and the limits in seconds and messages', () => {
    expect(dataKeysFromEnv({ BROKER_KMS_DATA_KEYS: 'per_connection', BROKER_DATA_KEY_MAX_AGE_S: '60', BROKER_DATA_KEY_MAX_MESSAGES: '500' })).toEqual({
      dataKeys: 'per_connection',
      cache: { maxAgeMs: 60_000, maxMessages: 500 },
    });
  });

  it.each([
    ['BROKER_KMS_DATA_KEYS', 'shared'],
    ['BROKER_DATA_KEY_MAX_AGE_S', '-1'],
    ['BROKER_DATA_KEY_MAX_MESSAGES', '1.5'],
  ])('refuses %s=%s as a configuration error', (name, value) => {
    expect(() => dataKeysFromEnv({ [name]: value })).toThrow(expect.objectContaining({ code: 'configuration_error' }));
  });
});
