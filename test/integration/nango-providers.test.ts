/**
 * A providers file of Nango-format entries (test/fixtures/nango-providers.yaml) given to a running
 * broker: the rest of the file loads, and the install link of a skipped entry answers 404
 * `provider_not_supported` with the reason, as JSON for code and as a page for people.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type LocalFixture } from '../support/local-broker';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/nango-providers.yaml');
let fixture: LocalFixture;
const secretsDir = mkdtempSync(path.join(tmpdir(), 'nango-secrets-'));

beforeAll(async () => {
  const secretsFile = path.join(secretsDir, 'secrets.json');
  writeFileSync(secretsFile, JSON.stringify({ heygen: { client_id: 'heygen-app', client_secret: 'heygen-secret-value' } }));
  fixture = await startTestBroker({
    env: { BROKER_TABLE_NAME: `t${Math.random().toString(36).slice(2, 10)}`, BROKER_PROVIDERS_FILE: FIXTURES, BROKER_SECRETS_FILE: secretsFile, POWERTOOLS_LOG_LEVEL: 'ERROR' },
  });
});
afterAll(async () => {
  await fixture?.close();
  rmSync(secretsDir, { recursive: true, force: true });
});

describe('install links of a Nango-format providers file', () => {
  it('a skipped entry → 404 provider_not_supported naming why, as JSON', async () => {
    const res = await fetch(`${fixture.local.url}/oauth/sendgrid/install`, { redirect: 'manual', headers: { accept: 'application/json' } });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { code: string; message: string; details?: Record<string, unknown> } };
    expect(body.error).toEqual({
      code: 'provider_not_supported',
      message: 'Provider "sendgrid" is in the catalogue but not served: auth_mode API_KEY is not served by the broker (it serves OAUTH2 and OAUTH2_CC)',
      details: { provider: 'sendgrid' },
    });
  });

  it('a skipped entry in a browser → a 404 page with the reason', async () => {
    const res = await fetch(`${fixture.local.url}/oauth/zoho-crm/install`, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('is not implemented');
  });

  it('a loaded Nango-format entry gets its authorize redirect', async () => {
    const res = await fetch(`${fixture.local.url}/oauth/heygen/install`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe('https://app.heygen.com/oauth/authorize');
    expect(location.searchParams.get('client_id')).toBe('heygen-app');
    expect(location.searchParams.get('code_challenge_method')).toBe('S256');
  });

  it('a key in neither the file nor the built-ins is still unknown_provider', async () => {
    const res = await fetch(`${fixture.local.url}/oauth/nosuch/install`, { redirect: 'manual', headers: { accept: 'application/json' } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unknown_provider');
  });
});
