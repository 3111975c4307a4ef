/**
 * Regression (found by an adversarial review): an app's signed install link may name a connection
 * that belongs to another provider (`POST /install-links` for sandbox with the id of a sandbox-cc
 * connection gives 201: minting reads no table). Opening it sent the customer through the
 * provider's consent, and only the callback refused (409) and revoked the grant just issued. The
 * link is now refused when opened, before any consent: nothing stored, no grant to revoke.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allItems, startTestBroker, type LocalFixture } from '../support/local-broker';

let fixture: LocalFixture;
let admin: Record<string, string>;

beforeAll(async () => {
  fixture = await startTestBroker();
  admin = { authorization: `Bearer ${fixture.local.adminKey}`, 'content-type': 'application/json' };
});
afterAll(async () => {
  await fixture?.close();
});

describe('a signed install link naming a connection of another provider', () => {
  it('is refused when opened (409 conflict), before the provider is asked for consent; nothing stored', async () => {
    const registered = await fetch(`${fixture.local.url}/connections/cc-other`, { method: 'PUT', headers: admin, body: JSON.stringify({ provider: 'sandbox-cc' }) });
    expect(registered.status).toBe(200);
    const minted = await fetch(`${fixture.local.url}/install-links`, { method: 'POST', headers: admin, body: JSON.stringify({ provider: 'sandbox', connection_id: 'cc-other' }) });
    expect(minted.status).toBe(201);
    const { url } = (await minted.json()) as { url: string };

    const before = await allItems(fixture.local);
    const opened = await fetch(url, { redirect: 'manual', headers: { accept: 'application/json' } });
    expect(opened.status).toBe(409);
    expect(opened.headers.get('location')).toBeNull();
    expect(((await opened.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'conflict', message: expect.stringMatching(/belongs to provider "sandbox-cc"/) });
    // No state item: no install was started.
    expect(await allItems(fixture.local)).toEqual(before);

    const page = await fetch(url, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(page.status).toBe(409);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('a link naming a new id still opens the provider\'s consent page', async () => {
    const minted = await fetch(`${fixture.local.url}/install-links`, { method: 'POST', headers: admin, body: JSON.stringify({ provider: 'sandbox', connection_id: 'sandbox-new' }) });
    const { url } = (await minted.json()) as { url: string };
    const opened = await fetch(url, { redirect: 'manual' });
    expect(opened.status).toBe(302);
    expect(new URL(opened.headers.get('location')!).origin).toBe(new URL(fixture.local.sandbox.issuer).origin);
  });
});
