/**
 * The admin key `npm start` generates is typed after `--key` on a command line (README, the CLI) and
 * sent as `Authorization: Bearer <key>`: it must never begin with `-`, which node's argument parser
 * (and most others) reads as an option — `--key -Xy…` was a usage error (exit 2) for 1 key in 64.
 */
import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { newAdminKey } from '../../lib/local/runtime';

describe('newAdminKey', () => {
  const keys = Array.from({ length: 2000 }, () => newAdminKey());

  it('never begins with "-", so `--key KEY` parses as the key', () => {
    expect(keys.filter((key) => key.startsWith('-'))).toEqual([]);
    for (const key of keys.slice(0, 200)) {
      expect(parseArgs({ args: ['--key', key], options: { key: { type: 'string' } }, strict: true }).values.key).toBe(key);
    }
  });

  it('is at least 32 characters a bearer token carries as one (no space, no control character), and new every time', () => {
    for (const key of keys) expect(key).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
