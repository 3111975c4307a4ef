/**
 * What the broker sends to a provider, and how much of the answer it reads. Found by an
 * adversarial review: a catalogue `token_url` of plain `http://` on another host was accepted (the
 * client secret and the code would cross the network in clear), and a provider answering a 20 MB
 * `access_token` had it read and stored whole (DynamoDB refuses an item over 400 KB, after the
 * grant was issued).
 */
import { generateKeyPairSync } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { exportJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isBrokerError } from '../../lib/errors';
import { validateIdToken } from '../../lib/oauth/id-token';
import { MAX_RESPONSE_BYTES } from '../../lib/oauth/response-cap';
import { exchangeCode, processTokenResponse, refreshGrant } from '../../lib/oauth/token-endpoint';
import { providerSchema } from '../../lib/providers/schema';
import { startProviderServer, testProvider, type ProviderServer, type ReceivedRequest, rejectionOf } from '../unit/oauth/fixtures';

const credentials = { client_id: 'client-1', client_secret: 'secret-xyz' };
const grant = { code: 'code-1', redirectUri: 'https://broker.example/cb' };

let server: ProviderServer;
beforeAll(async () => {
  server = await startProviderServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => server.reset());

/** A fetch that records where it was asked to go and never sends anything. */
function recordingFetch(): { fetch: typeof fetch; urls: string[] } {
  const urls: string[] = [];
  return {
    urls,
    fetch: (async (input: string | URL | Request) => {
      urls.push(String(input));
      return new Response(JSON.stringify({ access_token: 'at', token_type: 'Bearer' }), { headers: { 'content-type': 'application/json' } });
    }) as typeof fetch,
  };
}

describe('plain http to a provider', () => {
  it.each([
    ['token_url', { token_url: 'http://provider.example/oauth/token' }],
    ['authorization_url', { token_url: 'https://provider.example/oauth/token', authorization_url: 'http://provider.example/authorize' }],
    ['refresh_url', { token_url: 'https://provider.example/oauth/token', refresh_url: 'http://10.0.0.5/oauth/token' }],
    ['revocation.url', { token_url: 'https://provider.example/oauth/token', revocation: { url: 'http://provider.example/revoke' } }],
  ])('a catalogue %s of plain http on another host is refused when the catalogue loads', (field, urls) => {
    const parsed = providerSchema.safeParse({ display_name: 'Plain', auth_mode: 'OAUTH2', ...urls });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toContain('must be https');
    expect(parsed.error?.issues.map((issue) => issue.path.join('.'))).toContain(field);
  });

  it.each(['http://127.0.0.1:3001/token', 'http://localhost:3001/token', 'http://[::1]:3001/token', 'https://provider.example/token', '${connectionConfig.base}/token'])(
    'a catalogue URL %s loads (https, loopback, or a placeholder checked at use)',
    (tokenUrl) => {
      expect(providerSchema.safeParse({ display_name: 'Ok', auth_mode: 'OAUTH2', token_url: tokenUrl }).success).toBe(true);
    },
  );

  // Found by a later review: the catalogue check read the host with its own regex, which stops at
  // `@` and does not know that WHATWG URLs read `\\` as `/`, so the host it checked was not the one
  // fetch would reach. jwks_uri has no check at use (jose fetches it), so this check was its only one.
  it.each([
    ['oidc.jwks_uri', 'http://keys.evil.example\\.localhost/jwks'],
    ['oidc.jwks_uri', 'http://127.0.0.1@keys.evil.example/jwks'],
    ['token_url', 'http://127.0.0.1:80@evil.example/token'],
    ['token_url', 'http://evil.example\\.localhost/token'],
    // A *.localhost name resolves through DNS where the resolver does not special-case it (glibc).
    ['token_url', 'http://provider.localhost/token'],
  ])('a catalogue %s whose real host is not loopback (%s) is refused when the catalogue loads', (field, value) => {
    const oidc = field === 'oidc.jwks_uri' ? { oidc: { issuer: 'https://issuer.example', jwks_uri: value } } : {};
    const tokenUrl = field === 'token_url' ? value : 'https://provider.example/token';
    const parsed = providerSchema.safeParse({ display_name: 'Tricky', auth_mode: 'OAUTH2', token_url: tokenUrl, ...oidc });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path.join('.'))).toContain(field);
  });

  // The id_token's keys decide who a connection belongs to (tenant_claim): fetched in clear, they can be swapped.
  it('an oidc.issuer of plain http on another host is refused when the catalogue loads', () => {
    const parsed = providerSchema.safeParse({ display_name: 'Plain', auth_mode: 'OAUTH2', token_url: 'https://provider.example/token', oidc: { issuer: 'http://issuer.example' } });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path.join('.'))).toContain('oidc.issuer');
  });

  it("a discovery document naming a jwks_uri of plain http on another host: refused, the keys are not fetched", async () => {
    const provider = testProvider('discovered', { display_name: 'Discovered', auth_mode: 'OAUTH2', token_url: 'https://provider.example/token', oidc: { issuer: 'https://issuer.discovered.example' } });
    const urls: string[] = [];
    const fetch = (async (input: string | URL | Request) => {
      urls.push(String(input));
      return new Response(JSON.stringify({ issuer: 'https://issuer.discovered.example', jwks_uri: 'http://keys.discovered.example/jwks' }), { headers: { 'content-type': 'application/json' } });
    }) as typeof globalThis.fetch;
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const idToken = `${b64({ alg: 'RS256' })}.${b64({ iss: 'https://issuer.discovered.example', sub: 's', aud: 'client-1', exp: 2e9, iat: 1e9 })}.c2ln`;
    const err = await rejectionOf(() => validateIdToken(provider, idToken, { clientId: 'client-1', now: Date.now(), fetch }));
    expect(isBrokerError(err, 'configuration_error')).toBe(true);
    expect(urls).toEqual(['https://issuer.discovered.example/.well-known/openid-configuration']);
  });

  it('a URL whose host a connection value fills in is checked once filled: no request to plain http on another host', async () => {
    const provider = testProvider('perinstance', {
      display_name: 'Per instance',
      auth_mode: 'OAUTH2',
      token_url: 'http://${connectionConfig.host}/oauth/token',
      connection_config: { host: { pattern: '[a-z0-9.:-]+' } },
    });
    const { fetch, urls } = recordingFetch();
    const err = await rejectionOf(() => exchangeCode(provider, credentials, { ...grant, connectionConfig: { host: 'api.provider.example' } }, { fetch }));
    expect(isBrokerError(err, 'configuration_error')).toBe(true);
    expect((err as Error).message).toMatch(/token_url must be https/);
    expect((err as Error).message).not.toContain('api.provider.example');
    expect(urls).toEqual([]);

    const loopback = await exchangeCode(provider, credentials, { ...grant, connectionConfig: { host: '127.0.0.1' } }, { fetch });
    expect(loopback.tokens.access_token).toBe('at');
    expect(urls).toEqual(['http://127.0.0.1/oauth/token']);
  });
});

describe('the size of a provider answer', () => {
  const provider = () => testProvider('big', { display_name: 'Big', auth_mode: 'OAUTH2', token_url: `${server.origin}/token` });
  const tooBig = JSON.stringify({ access_token: 'a'.repeat(MAX_RESPONSE_BYTES), token_type: 'Bearer', refresh_token: 'rt-new' });

  it('an answer over the limit with its length declared is refused as the provider\'s error, not read', async () => {
    server.respond = (_request, response: ServerResponse) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(tooBig)) });
      response.end(tooBig);
    };
    const err = await rejectionOf(() => exchangeCode(provider(), credentials, grant, {}));
    expect(isBrokerError(err, 'provider_error')).toBe(true);
    expect((err as Error).message).toMatch(/larger than 256 KiB/);
  });

  it('an answer over the limit sent in chunks without a length is refused once the limit is passed', async () => {
    server.respond = (_request, response: ServerResponse) => {
      response.writeHead(200, { 'content-type': 'application/json' }); // chunked: no content-length
      for (let at = 0; at < tooBig.length; at += 16_384) response.write(tooBig.slice(at, at + 16_384));
      response.end();
    };
    const err = await rejectionOf(() => refreshGrant(provider(), credentials, { refreshToken: 'rt-old' }, {}));
    expect(isBrokerError(err, 'provider_error')).toBe(true);
    expect((err as Error).message).toMatch(/larger than 256 KiB/);
    expect((err as Error).message).not.toContain('rt-new');
  });

  // processTokenResponse takes a Response someone else fetched: it was the one reader left that read it whole.
  it('processTokenResponse given an answer over the limit (declared, or streamed without a length) refuses it as the provider\'s error', async () => {
    const declared = (_request: unknown, response: ServerResponse) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(tooBig)) });
      response.end(tooBig);
    };
    const streamed = (_request: unknown, response: ServerResponse) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      for (let at = 0; at < tooBig.length; at += 16_384) response.write(tooBig.slice(at, at + 16_384));
      response.end();
    };
    for (const respond of [declared, streamed]) {
      server.respond = respond;
      const answer = await fetch(`${server.origin}/token`, { method: 'POST' });
      const err = await rejectionOf(() => processTokenResponse(provider(), answer, 'refresh_token', { secretValues: ['rt-new'] }));
      expect(isBrokerError(err, 'provider_error')).toBe(true);
      expect((err as Error).message).toMatch(/larger than 256 KiB/);
      expect((err as Error).message).not.toContain('rt-new');
    }
  });

  it('an answer just under the limit is read whole', async () => {
    const body = JSON.stringify({ access_token: 'a'.repeat(MAX_RESPONSE_BYTES - 100), token_type: 'Bearer' });
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
    server.respond = (_request, response: ServerResponse) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(body);
    };
    const result = await exchangeCode(provider(), credentials, grant, {});
    expect(result.tokens.access_token).toHaveLength(MAX_RESPONSE_BYTES - 100);
  });
});

/**
 * The issuer's discovery document and its key set are provider answers too, read before an
 * id_token is trusted: `response.json()` and jose's own fetch read them whole, however large.
 * Each test has its own issuer under the loopback server (discovery and keys are cached per URL).
 */
describe('the size of a discovery document and of a key set', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let issuers = 0;
  const freshIssuer = () => `${server.origin}/issuer-${++issuers}`;
  const provider = (oidc: { issuer: string; jwks_uri?: string }) =>
    testProvider('oidc', { display_name: 'OIDC', auth_mode: 'OAUTH2', token_url: `${server.origin}/token`, oidc: { ...oidc, nonce: false } });
  const idTokenFor = (issuer: string) =>
    new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(issuer).setSubject('person-1').setAudience('client-1').setIssuedAt().setExpirationTime('5m').sign(privateKey);
  const validate = async (oidc: { issuer: string; jwks_uri?: string }) =>
    validateIdToken(provider(oidc), await idTokenFor(oidc.issuer), { clientId: 'client-1', now: Date.now() });
  const keySet = async (padding = 0) => ({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }], ...(padding > 0 ? { padding: 'x'.repeat(padding) } : {}) });

  /** `body` as the answer: with its length declared, or in chunks without one. */
  const answer = (body: string, how: 'declared' | 'streamed') => (_request: ReceivedRequest, response: ServerResponse) => {
    if (how === 'declared') {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
      response.end(body);
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    for (let at = 0; at < body.length; at += 16_384) response.write(body.slice(at, at + 16_384));
    response.end();
  };
  /** Answers the issuer's discovery document and its keys (`/jwks` under the issuer). */
  const serve = (issuer: string, routes: { discovery?: (request: ReceivedRequest, response: ServerResponse) => void; jwks: (request: ReceivedRequest, response: ServerResponse) => void }) => {
    const base = new URL(issuer).pathname;
    server.respond = (request, response) => {
      if (request.path === `${base}/.well-known/openid-configuration` && routes.discovery) return routes.discovery(request, response);
      if (request.path === `${base}/jwks`) return routes.jwks(request, response);
      response.writeHead(404).end();
    };
  };
  const paths = () => server.requests.map((request) => request.path);

  it.each(['declared', 'streamed'] as const)('a discovery document over the limit (%s) is refused as the provider\'s error; no key set is fetched', async (how) => {
    const issuer = freshIssuer();
    const document = JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks`, padding: 'x'.repeat(MAX_RESPONSE_BYTES) });
    serve(issuer, { discovery: answer(document, how), jwks: answer(JSON.stringify(await keySet()), 'declared') });
    const err = await rejectionOf(() => validate({ issuer }));
    expect(isBrokerError(err, 'provider_error')).toBe(true);
    expect((err as Error).message).toMatch(/OpenID configuration is larger than 256 KiB/);
    expect(paths()).toEqual([`${new URL(issuer).pathname}/.well-known/openid-configuration`]);
  });

  it.each(['declared', 'streamed'] as const)('a key set over the limit (%s) is refused as the provider\'s error, not as the id_token\'s', async (how) => {
    const issuer = freshIssuer();
    serve(issuer, { jwks: answer(JSON.stringify(await keySet(MAX_RESPONSE_BYTES)), how) });
    const err = await rejectionOf(() => validate({ issuer, jwks_uri: `${issuer}/jwks` }));
    expect(isBrokerError(err, 'provider_error')).toBe(true);
    expect((err as Error).message).toMatch(/signing keys are larger than 256 KiB/);
  });

  it('a discovered key set over the limit is refused the same way', async () => {
    const issuer = freshIssuer();
    serve(issuer, { discovery: answer(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }), 'declared'), jwks: answer(JSON.stringify(await keySet(MAX_RESPONSE_BYTES)), 'streamed') });
    const err = await rejectionOf(() => validate({ issuer }));
    expect(isBrokerError(err, 'provider_error')).toBe(true);
  });

  // The capped read happens inside the fetch jose calls, under jose's timeout: a stall there stays an
  // outage. Cut, not stalled: undici's body read throws TypeError('terminated'), which jose lets through.
  it.each([
    ['stops halfway', (_response: ServerResponse) => undefined],
    ['is cut halfway', (response: ServerResponse) => response.socket?.destroy()],
  ])('a key set that %s is provider_unavailable (the keys could not be fetched), not id_token_invalid', async (_how, afterWrite) => {
    const issuer = freshIssuer();
    serve(issuer, {
      jwks: (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{"keys":[', () => afterWrite(response));
      },
    });
    const err = await rejectionOf(async () => validateIdToken(provider({ issuer, jwks_uri: `${issuer}/jwks` }), await idTokenFor(issuer), { clientId: 'client-1', now: Date.now(), timeoutMs: 300 }));
    expect(isBrokerError(err) ? err.code : err).toBe('provider_unavailable');
  });

  it('a discovery document and a key set just under the limit are read whole: the id_token verifies', async () => {
    const issuer = freshIssuer();
    const document = JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks`, padding: 'x'.repeat(MAX_RESPONSE_BYTES - 500) });
    const keys = JSON.stringify(await keySet(MAX_RESPONSE_BYTES - 500));
    expect(Math.max(Buffer.byteLength(document), Buffer.byteLength(keys))).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
    serve(issuer, { discovery: answer(document, 'streamed'), jwks: answer(keys, 'streamed') });
    const claims = await validate({ issuer });
    expect(claims?.sub).toBe('person-1');
  });
});
