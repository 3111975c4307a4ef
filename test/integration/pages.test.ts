/**
 * The pages people see, over real HTTP against the sandbox: post/redirect/get after the
 * callback, error pages that offer a way on only where one can work (the rules of
 * lib/http/pages.ts), a misconfigured deployment that says so and whom to tell while its log
 * line says exactly what is wrong, and the operator's branding. (The same pages in Chromium,
 * with axe-core and at 375 px: test/e2e/pages.test.ts.)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieJar, fetchCallback, followInstall, openInstall } from '../support/browserless-consent';
import { captureLogs } from '../support/logs';
import { installCookieFor, startTestBroker, signedInstallUrl, type LocalFixture } from '../support/local-broker';

const APP = 'https://app.example.com';
let fixture: LocalFixture;

beforeAll(async () => {
  fixture = await startTestBroker({ config: { returnToAllowlist: [APP] } });
});
afterAll(async () => {
  await fixture?.close();
});

const html = { accept: 'text/html' };

/** The person's browser: its install cookies go back with the callbacks below. */
const browser = new CookieJar();

/** Opens an install link in the person's browser and returns the state the broker sent to the sandbox. */
async function stateOf(installUrl: string): Promise<string> {
  return (await openInstall(installUrl, browser)).state;
}

/** The sandbox sending the person back with `params` for the install behind `state` (`cookie`: instead of the browser's). */
function callback(state: string, params: Record<string, string>, cookie?: string): Promise<Response> {
  const callbackUrl = new URL(`${fixture.local.url}/oauth/sandbox/callback?${new URLSearchParams({ ...params, state, iss: fixture.local.sandbox.issuer })}`);
  return fetchCallback({ callbackUrl, jar: browser }, { redirect: 'manual', headers: { ...html, ...(cookie === undefined ? {} : { cookie }) } });
}

/** The `href`s of a page's links, in order, decoded from HTML. */
function links(page: string): string[] {
  return [...page.matchAll(/<a [^>]*href="([^"]*)"/g)].map((m) => m[1]!.replaceAll('&amp;', '&'));
}

describe('post/redirect/get after the callback', () => {
  let connectedUrl: string;
  let firstCallbackUrl: string;
  let firstCookie: string;

  it('stores the connection, then answers 303 to /oauth/sandbox/connected?c=…: no code, state or token in the URL', async () => {
    const { callbackUrl, jar } = await followInstall(await signedInstallUrl(fixture.local, 'prg-1'));
    firstCookie = jar.header(callbackUrl)!;
    const res = await fetchCallback({ callbackUrl, jar }, { redirect: 'manual' });
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(`${fixture.local.url}/oauth/sandbox/connected`);
    expect([...location.searchParams.keys()]).toEqual(['c']);
    const callbackQuery = new URL(callbackUrl).searchParams;
    const { access_token } = await fixture.local.broker.getToken('prg-1');
    for (const secret of [callbackQuery.get('code')!, callbackQuery.get('state')!, access_token]) expect(location.toString()).not.toContain(secret);
    connectedUrl = location.toString();
    firstCallbackUrl = callbackUrl.toString();
  });

  it('reloading the "Connected" page shows it again, while replaying the callback is refused', async () => {
    for (let reload = 0; reload < 2; reload++) {
      const res = await fetch(connectedUrl, { headers: html });
      expect(res.status).toBe(200);
      const page = await res.text();
      expect(page).toContain('<h1>Connected</h1>');
      expect(page).toContain('Your Sandbox (local oidc-provider) account is connected.');
      expect(page).toContain('Connection: <code>prg-1</code>');
    }
    // What the name promises too: the one-time callback itself is not served twice (not even with its install cookie).
    const replay = await fetch(firstCallbackUrl, { headers: { ...html, cookie: firstCookie }, redirect: 'manual' });
    expect(replay.status).toBe(400);
    const replayPage = await replay.text();
    expect(replayPage).not.toContain('<h1>Connected</h1>');
    expect(replayPage).toContain('expired or was already used');
  });

  it('an altered result, or one opened on another provider\'s route → 400 page, never "Connected"', async () => {
    const c = new URL(connectedUrl).searchParams.get('c')!;
    const [payload, tag] = c.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = `${Buffer.from(JSON.stringify({ ...claims, c: 'someone-else' })).toString('base64url')}.${tag}`;
    for (const url of [
      `${fixture.local.url}/oauth/sandbox/connected?c=${forged}`,
      `${fixture.local.url}/oauth/sandbox-cc/connected?c=${c}`,
      `${fixture.local.url}/oauth/sandbox/connected`,
    ]) {
      const res = await fetch(url, { headers: html });
      expect(res.status, url).toBe(400);
      const page = await res.text();
      expect(page).not.toContain('<h1>Connected</h1>');
      expect(page).toContain('This confirmation link is not valid');
    }
  });

  it('a day later the page says it expired and that the connection is not affected (410)', async () => {
    fixture.clock.advance(24 * 3600_000 + 1000);
    try {
      const res = await fetch(connectedUrl, { headers: html });
      expect(res.status).toBe(410);
      expect(await res.text()).toContain('The connection itself is not affected');
    } finally {
      fixture.clock.advance(-(24 * 3600_000 + 1000));
    }
  });
});

describe('error pages offer a way on where starting again can work', () => {
  it('a public install the person declined: "Start again" goes back to the public link, which works', async () => {
    const res = await callback(await stateOf(fixture.local.installUrl), { error: 'access_denied' });
    expect(res.status).toBe(400);
    const page = await res.text();
    expect(page).toContain('Start again');
    expect(links(page)).toEqual(['install']);
    const again = await fetch(new URL('install', `${fixture.local.url}/oauth/sandbox/callback`), { redirect: 'manual' });
    expect(again.status).toBe(302);
    expect(again.headers.get('location')).toContain(`${fixture.local.sandbox.issuer}/auth`);
  });

  it('a public install with return_to whose code was refused: "Start again" keeps return_to, "Back to the app" carries the error code', async () => {
    const returnTo = `${APP}/done?x=1`;
    const res = await callback(await stateOf(`${fixture.local.installUrl}?return_to=${encodeURIComponent(returnTo)}`), { code: 'not-a-real-code' });
    expect(res.status).toBe(400);
    const [startAgain, back] = links(await res.text());
    expect(startAgain).toBe(`install?${new URLSearchParams({ return_to: returnTo })}`);
    const backUrl = new URL(back!);
    expect(`${backUrl.origin}${backUrl.pathname}`).toBe(`${APP}/done`);
    expect(Object.fromEntries(backUrl.searchParams)).toEqual({ x: '1', error_code: 'invalid_request', provider: 'sandbox' });
  });

  it('a signed link still valid, declined: no "Start again" (the broker does not keep the link), it says to open the link once more', async () => {
    const res = await callback(await stateOf(await signedInstallUrl(fixture.local, 'declined-1')), { error: 'access_denied' });
    expect(res.status).toBe(400);
    const page = await res.text();
    expect(links(page)).toEqual([]);
    expect(page).toContain('To try again, open the install link the app gave you once more.');
  });

  it('a signed link already used, with return_to: "Back to the app" with install_link_used, no "Start again"', async () => {
    const link = await signedInstallUrl(fixture.local, 'used-1', { return_to: `${APP}/done` });
    const { callbackUrl, jar } = await followInstall(link);
    expect((await fetchCallback({ callbackUrl, jar }, { redirect: 'manual' })).status).toBe(303);
    const res = await fetch(link, { redirect: 'manual', headers: html });
    expect(res.status).toBe(409);
    const page = await res.text();
    expect(page).not.toContain('Start again');
    expect(links(page)).toEqual([`${APP}/done?error_code=install_link_used&provider=sandbox`]);
  });

  it('a signed link expired, without return_to: no links; the page says to ask the app for a new one', async () => {
    const link = await signedInstallUrl(fixture.local, 'late-1', { expires_in: 60 });
    fixture.clock.advance(61_000);
    try {
      const res = await fetch(link, { redirect: 'manual', headers: html });
      expect(res.status).toBe(400);
      const page = await res.text();
      expect(links(page)).toEqual([]);
      expect(page).toContain('ask the app for a new one');
    } finally {
      fixture.clock.advance(-61_000);
    }
  });

  it('a callback whose state the broker does not know: no links, the message says to open the install link again', async () => {
    const res = await callback('x'.repeat(43), { code: 'abc' }, await installCookieFor(fixture.local, 'x'.repeat(43)));
    expect(res.status).toBe(400);
    const page = await res.text();
    expect(links(page)).toEqual([]);
    expect(page).toContain('start the install again');
  });
});

describe('a misconfigured deployment (a malformed secret; the placeholder secret of a provider not set up yet), branded', () => {
  let broken: LocalFixture;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'broker-misconfigured-'));
    const secretsFile = join(dir, 'secrets.json');
    // HubSpot's secret lacks its client_secret (configuration_error); the sandbox's still holds the deploy-time placeholder.
    await writeFile(secretsFile, JSON.stringify({ sandbox: { client_id: 'REPLACE_ME', client_secret: 'placeholder-secret-value' }, hubspot: { client_id: 'hubspot-app' } }));
    broken = await startTestBroker({
      env: {
        BROKER_TABLE_NAME: 'misconfigured',
        BROKER_SECRETS_FILE: secretsFile,
        BROKER_BRAND_NAME: 'Acme CRM',
        BROKER_BRAND_LOGO_URL: 'https://cdn.acme.example/logo.svg',
        BROKER_BRAND_COLOR: '#ffd33d',
        BROKER_SUPPORT_URL: 'mailto:help@acme.example',
      },
    });
  });
  afterAll(async () => {
    await broken?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the customer reads that Acme CRM is misconfigured and whom to tell; the log line says exactly what is wrong, never the secret', async () => {
    const logs = captureLogs();
    let res: Response;
    try {
      res = await fetch(`${broken.local.url}/oauth/hubspot/install`, { redirect: 'manual', headers: html });
    } finally {
      logs.restore();
    }
    expect(res.status).toBe(500);
    const page = await res.text();
    expect(page).toContain('<h1>Acme CRM is not set up correctly</h1>');
    expect(page).toContain('It is nothing you did');
    expect(page).toContain('Please tell Acme CRM&#39;s support, and mention the reference below.');
    expect(links(page)).toEqual(['mailto:help@acme.example']);
    const reference = res.headers.get('x-correlation-id')!;
    expect(page).toContain(`Reference: <code>${reference}</code>`);
    expect(page).not.toContain('client_secret');

    const [line, ...others] = logs.withMessage('configuration error');
    expect(others).toEqual([]);
    expect(line).toMatchObject({
      level: 'ERROR',
      code: 'configuration_error',
      route: 'GET /oauth/{provider}/install',
      provider: 'hubspot',
      correlation_id: reference,
      problem: expect.stringContaining('Secret "hubspot" is missing client_secret'),
    });
  });

  it('a provider whose secret still holds the placeholder: a 404 that says it is not configured and whom to tell; the refusal line says what to fix, at INFO, never the secret', async () => {
    const logs = captureLogs();
    let res: Response;
    try {
      res = await fetch(broken.local.installUrl, { redirect: 'manual', headers: html });
    } finally {
      logs.restore();
    }
    expect(res.status).toBe(404);
    const page = await res.text();
    expect(page).toContain('<h1>Acme CRM cannot connect to sandbox yet</h1>');
    expect(page).toContain('Connecting a sandbox account is not configured in Acme CRM yet. It is nothing you did');
    expect(page).toContain('Please tell Acme CRM&#39;s support, and mention the reference below.');
    expect(page).toContain('<code>provider_not_configured</code>');
    expect(links(page)).toEqual(['mailto:help@acme.example']);
    expect(page).not.toContain('placeholder');

    expect(logs.lines().filter((line) => line.level === 'ERROR')).toEqual([]);
    expect(logs.withMessage('request refused')).toEqual([
      expect.objectContaining({
        level: 'INFO',
        code: 'provider_not_configured',
        route: 'GET /oauth/{provider}/install',
        provider: 'sandbox',
        correlation_id: res.headers.get('x-correlation-id'),
        problem: expect.stringContaining('Secret "sandbox" still holds the deploy-time placeholder'),
      }),
    ]);
    expect(logs.text()).not.toContain('placeholder-secret-value');
  });

  it('every page carries the brand: the name, the logo (the only image origin the CSP allows), text on the colour chosen for contrast', async () => {
    const res = await fetch(`${broken.local.url}/oauth/nosuch/install`, { headers: html });
    const page = await res.text();
    expect(page).toContain('<title>The connection could not be made – Acme CRM</title>');
    expect(page).toContain('<img src="https://cdn.acme.example/logo.svg" alt="" height="32"><span>Acme CRM</span>');
    // #ffd33d is light: black text on it (white would be 1.5:1).
    expect(page).toContain('.band{background:#ffd33d;color:#000000}');
    expect(res.headers.get('content-security-policy')).toContain("img-src https://cdn.acme.example;");
  });
});
