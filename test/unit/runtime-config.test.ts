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
});
