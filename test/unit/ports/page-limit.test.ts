import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../../lib/errors';
import { pageLimit } from '../../../lib/ports';

const bounds = { fallback: 50, max: 500 };

describe('pageLimit', () => {
  it('is the fallback when no limit is asked for', () => {
    expect(pageLimit(undefined, bounds)).toBe(50);
  });

  it('is the limit asked for, from 1 to max', () => {
    expect(pageLimit(1, bounds)).toBe(1);
    expect(pageLimit(500, bounds)).toBe(500);
  });

  it.each([0, -1, 501, 2.5, Number.NaN])('refuses %s with invalid_request naming the range', (limit) => {
    expect(() => pageLimit(limit, bounds)).toThrow(new BrokerError('invalid_request', 'limit must be an integer from 1 to 500'));
  });
});
