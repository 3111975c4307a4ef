/**
 * The admin API over real HTTP against the sandbox: client-credentials connections,
 * metadata views, and revocation at the provider.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileSecretStore } from '../../lib/adapters/local-secrets';
import { fetchCallback, followInstall } from '../support/browserless-consent';
import { connectionCount, startTestBroker, type LocalFixture, signedInstallUrl } from '../support/local-broker';

let fixture: LocalFixture;
let admin: Record<string, string>;

beforeAll(async () => {
  fixture = await startTestBroker();
  admin = { authorization: `Bearer ${fixture.local.adminKey}`, 'content-type': 'application/json' };
});
afterAll(async () => {
  await fixture?.close();
});

async function apiStatus(accessToken: string): Promise<number> {
  return (await fetch(`${fixture.local.sandbox.issuer}/api/me`, { headers: { authorization: `Bearer ${accessToken}` } })).status;
}

describe('client-credentials connections', () => {
  it('PUT /connections/{id} registers one with the provider app secret; its token works', async () => {
    const res = await fetch(`${fixture.local.url}/connections/cc-sandbox`, { method: 'PUT', headers: admin, body: JSON.stringify({ provider: 'sandbox-cc' }) });
    expect(res.status).toBe(200);
    const { connection } = (await res.json()) as { connection: Record<string, unknown> };
    expect(connection).toMatchObject({ id: 'cc-sandbox', provider: 'sandbox-cc', auth_mode: 'OAUTH2_CC', status: 'active' });
    expect(connection.refresh_due_at).not.toBeNull();

    const tokenRes = await fetch(`${fixture.local.url}/connections/cc-sandbox/token`, { method: 'POST', headers: admin });
    const token = (await tokenRes.json()) as { access_token: string };
    expect(await apiStatus(token.access_token)).toBe(200);
  });

  it('PUT with inline credentials the provider refuses → 400, nothing stored', async () => {
    const before = await connectionCount(fixture.local);
    const res = await fetch(`${fixture.local.url}/connections/cc-wrong`, {
      method: 'PUT',
      headers: admin,
      body: JSON.stringify({ provider: 'sandbox-cc', credentials: { client_id: 'sandbox-app', client_secret: 'not-the-secret' } }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_request');
    expect(JSON.stringify(body)).not.toContain('not-the-secret');
    expect(await connectionCount(fixture.local)).toBe(before);
  });

  it('PUT for an authorization-code provider → 400 pointing at the install link', async () => {
    const res = await fetch(`${fixture.local.url}/connections/cc-x`, { method: 'PUT', headers: admin, body: JSON.stringify({ provider: 'sandbox' }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('use its install link');
  });

  it('PUT for an unknown provider → 404 unknown_provider', async () => {
    const res = await fetch(`${fixture.local.url}/connections/cc-y`, { method: 'PUT', headers: admin, body: JSON.stringify({ provider: 'nope' }) });
    expect(res.status).toBe(404);
  });
});

describe('revocation', () => {
  it('DELETE /connections/{id} revokes at the provider (its tokens stop working) and marks the connection revoked', async () => {
    const { callbackUrl, jar } = await followInstall(await signedInstallUrl(fixture.local, 'to-revoke'));
    expect((await fetchCallback({ callbackUrl, jar })).status).toBe(200);
    const token = await fixture.local.broker.getToken('to-revoke');
    expect(await apiStatus(token.access_token)).toBe(200);

    const res = await fetch(`${fixture.local.url}/connections/to-revoke`, { method: 'DELETE', headers: admin });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { provider_revocation: string; connection: { status: string } };
    expect(body).toMatchObject({ provider_revocation: 'revoked', connection: { status: 'revoked' } });
    expect(await apiStatus(token.access_token)).toBe(401); // oidc-provider revokes the whole grant

    const after = await fetch(`${fixture.local.url}/connections/to-revoke/token`, { method: 'POST', headers: admin });
    expect(after.status).toBe(410);
    expect(((await after.json()) as { error: { code: string } }).error.code).toBe('connection_revoked');
    expect(fixture.local.events.recent().some((e) => e.type === 'connection.revoked' && e.detail.connection_id === 'to-revoke')).toBe(true);
  });
});

describe('GET /providers', () => {
  it('lists the served providers with their metadata, sorted, and never a secret or a secret name', async () => {
    const res = await fetch(`${fixture.local.url}/providers`, { headers: admin });
    expect(res.status).toBe(200);
    const text = await res.text();
    const body = JSON.parse(text) as { providers: Array<Record<string, unknown>>; skipped: unknown[] };
    const keys = body.providers.map((p) => p.key);
    expect(keys).toEqual([...keys].sort());
    expect(keys).toEqual(expect.arrayContaining(['hubspot', 'marketo', 'sandbox', 'sandbox-cc']));
    expect(body.providers.find((p) => p.key === 'sandbox')).toMatchObject({ auth_mode: 'OAUTH2', connect_with: 'install_link', revocation: true, health: { circuit: 'closed', failures: 0 } });
    expect(body.providers.find((p) => p.key === 'marketo')).toMatchObject({ auth_mode: 'OAUTH2_CC', connect_with: 'register', connection_config: expect.any(Object) });
    const secrets = JSON.parse(await readFile((fixture.local.broker.ctx.secrets as FileSecretStore).path, 'utf8')) as Record<string, { client_secret: string }>;
    for (const { client_secret } of Object.values(secrets)) expect(text).not.toContain(client_secret);
    expect(text).not.toMatch(/secret/i);
  });

  it('takes no query parameters: 400 invalid_request', async () => {
    const res = await fetch(`${fixture.local.url}/providers?all=1`, { headers: admin });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_request' } });
  });
});
