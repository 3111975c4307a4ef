import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { aeadOpen, aeadSeal } from '../../../lib/adapters/aead';
import { BrokerError } from '../../../lib/errors';

const key = randomBytes(32);
const context = { connection_id: 'conn-1', provider: 'hubspot' };
const plaintext = new TextEncoder().encode('{"token":"secret"}');

function openError(run: () => unknown): BrokerError {
  try {
    run();
  } catch (err) {
    return err as BrokerError;
  }
  throw new Error('expected aeadOpen to throw');
}

describe('aeadSeal / aeadOpen', () => {
  it('opens what it sealed, under the same key and context', () => {
    expect(aeadOpen(key, aeadSeal(key, plaintext, context), context)).toEqual(plaintext);
  });

  it("refuses another connection's context with decrypt_failed", () => {
    const sealed = aeadSeal(key, plaintext, context);
    expect(openError(() => aeadOpen(key, sealed, { ...context, connection_id: 'conn-2' })).code).toBe('decrypt_failed');
  });

  it('refuses a truncated tag with decrypt_failed', () => {
    const sealed = aeadSeal(key, plaintext, context);
    expect(openError(() => aeadOpen(key, { ...sealed, tag: sealed.tag.subarray(0, 12) }, context)).code).toBe('decrypt_failed');
  });

  it('draws a new IV for every message', () => {
    expect(aeadSeal(key, plaintext, context).iv.equals(aeadSeal(key, plaintext, context).iv)).toBe(false);
  });
});
