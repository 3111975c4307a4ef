import { expect } from 'vitest';
import { BrokerError } from '../../lib/errors';

/** The error `fn` throws; fails the test when it does not throw a BrokerError. */
export function brokerError(fn: () => unknown): BrokerError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BrokerError);
    return err as BrokerError;
  }
  throw new Error('expected a BrokerError, nothing was thrown');
}
