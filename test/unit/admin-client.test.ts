/**
 * The typed admin client sends the local broker's admin key as a bearer token on every request, so
 * it holds the CLI's rule (lib/cli/main.ts, lib/providers/secure-url.ts): the key goes over https, or
 * plain http to this machine only. A client that would send it elsewhere is refused when it is made,
 * before any request.
 */
import { describe, expect, it } from 'vitest';
import { createAdminClient } from '../../lib/admin-client';

const KEY = 'k'.repeat(32);

/** A fetch that records what it was asked to send and answers an empty page. */
function recordingFetch() {
  const sent: Request[] = [];
  const fetch = async (input: Request | string | URL, init?: RequestInit) => {
    sent.push(input instanceof Request ? input : new Request(input, init));
    return new Response(JSON.stringify({ connections: [] }), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  return { sent, fetch: fetch as typeof globalThis.fetch };
}

describe('AdminClient with an admin key', () => {
  it.each(['http://broker.example.com:3000', 'http://10.0.0.5', 'http://localhost.broker.invalid', 'ftp://127.0.0.1', 'not a url'])(
    '%j is refused when the client is made, the key not in the message',
    (url) => {
      const { sent, fetch } = recordingFetch();
      expect(() => createAdminClient({ url, adminKey: KEY, fetch })).toThrow(/admin key goes over https, or plain http to this machine only/);
      try {
        createAdminClient({ url, adminKey: KEY, fetch });
      } catch (err) {
        expect((err as Error).message).not.toContain(KEY);
      }
      expect(sent).toHaveLength(0);
    },
  );

  it('a URL with a user name or password is refused without printing it', () => {
    expect(() => createAdminClient({ url: 'https://user:s3cret@broker.example.com', adminKey: KEY })).toThrow(/user name or password/);
    try {
      createAdminClient({ url: 'https://user:s3cret@broker.example.com', adminKey: KEY });
    } catch (err) {
      expect((err as Error).message).not.toContain('s3cret');
    }
  });

  it.each(['https://broker.example.com', 'http://127.0.0.1:3000', 'http://localhost:3000', 'http://[::1]:3000'])('%j: the key is sent', async (url) => {
    const { sent, fetch } = recordingFetch();
    await createAdminClient({ url, adminKey: KEY, fetch }).listConnections();
    expect(sent).toHaveLength(1);
    expect(sent[0]?.headers.get('authorization')).toBe(`Bearer ${KEY}`);
  });

  it('without an admin key (SigV4 or nothing) any URL is taken: no key travels', () => {
    expect(() => createAdminClient({ url: 'http://broker.example.com' })).not.toThrow();
  });
});
