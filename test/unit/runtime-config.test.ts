import { describe, expect, it } from 'vitest';
import { isBrokerError } from '../../lib/errors';
import { configFromEnv } from '../../lib/runtime';

describe('configFromEnv', () => {
  it('refuses a renamed setting instead of ignoring it: BROKER_SWEEP_INTERVAL_S names its new name', () => {
    let thrown: unknown;
    try {
      configFromEnv({ BROKER_SWEEP_INTERVAL_S: '30' });
    } catch (err) {
      thrown = err;
    }
    expect(isBrokerError(thrown, 'configuration_error')).toBe(true);
    expect((thrown as Error).message).toMatch(/BROKER_SWEEP_INTERVAL_S .*BROKER_SCHEDULER_INTERVAL_S/);
  });

  it('reads the new name', () => {
    expect(configFromEnv({ BROKER_SCHEDULER_INTERVAL_S: '30' }).refreshPolicy).toEqual({ schedulerIntervalMs: 30_000 });
  });

  // BROKER_PUBLIC_URL was taken as it was: a relative value, plain http to another host, or one with a
  // query or a fragment built broken or insecure redirect_uris and install links (adversarial review, session 6).
  it.each([
    ['broker.example.com', /absolute/],
    ['/oauth', /absolute/],
    ['ftp://broker.example.com', /https/],
    ['javascript:alert(1)', /https/],
    ['http://broker.example.com', /https/],
    ['http://localhost.broker.example.com', /https/],
    ['http://127.0.0.1@broker.example.com', /user name or password/],
    ['https://user:s3cret@broker.example.com', /user name or password/],
    ['https://broker.example.com/?tenant=1', /query or a fragment/],
    ['https://broker.example.com/#top', /query or a fragment/],
    ['https://broker.example.com?', /query or a fragment/],
    ['https://broker.example.com/ x', /space or a control character/],
    ['https://broker.exa\nmple.com', /space or a control character/],
  ])('BROKER_PUBLIC_URL=%j: configuration_error naming the variable, not echoing the value', (value, reason) => {
    let thrown: unknown;
    try {
      configFromEnv({ BROKER_PUBLIC_URL: value });
    } catch (err) {
      thrown = err;
    }
    expect(isBrokerError(thrown, 'configuration_error')).toBe(true);
    expect((thrown as Error).message).toMatch(/^BROKER_PUBLIC_URL /);
    expect((thrown as Error).message).toMatch(reason);
    expect((thrown as Error).message).not.toContain(value);
    expect((thrown as Error).message).not.toContain('s3cret');
  });

  it.each([
    // What the CDK sets: the HTTP API's endpoint, or the custom domain; a stage path is kept.
    ['https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com'],
    ['https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod'],
    ['https://auth.example.com/'],
    // Local: the broker on this machine.
    ['http://127.0.0.1:3000'],
    ['http://localhost:3000'],
    ['http://[::1]:3000'],
  ])('BROKER_PUBLIC_URL=%j is taken as it is', (value) => {
    expect(configFromEnv({ BROKER_PUBLIC_URL: value }).publicUrl).toBe(value);
  });

  it('an empty BROKER_PUBLIC_URL is unset (the callback URL then comes from the request)', () => {
    expect(configFromEnv({ BROKER_PUBLIC_URL: '' })).not.toHaveProperty('publicUrl');
  });
});
