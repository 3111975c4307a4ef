/**
 * Every page a person sees, in Chromium, at desktop width (1280 px) and at 375 px: axe-core
 * 4.x (from node_modules, no download) finds no serious or critical violation, nothing scrolls
 * sideways, and a screenshot of each is saved under .data/e2e/pages/ (git-ignored) with the axe
 * results in .data/e2e/axe-results.json. The pages: install refusals (unknown provider, a public
 * link given a connection_id, a signed link used, expired or altered), "Connected" and its expired
 * reload, callback errors (with and without a way on, and an install finished in another browser
 * than it started in), the misconfiguration page and the page of
 * a provider not configured yet (branded, with a logo served from loopback under the page's CSP),
 * and the dashboard empty, with connections, after
 * a refresh (its confirmation says what changed) and after copying an id; and a dashboard of 230
 * connections shows them all (it follows the list cursor past the first page of 200).
 *
 * axe runs through `page.evaluate`, not a script tag, so each page's own CSP stays on while it
 * is checked.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchCallback, followInstall } from '../support/browserless-consent';
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumMissing } from '../support/browser';
import { installCookieFor, startTestBroker, type LocalFixture } from '../support/local-broker';

const OUT_DIR = fileURLToPath(new URL('../../.data/e2e/', import.meta.url));
const SHOT_DIR = join(OUT_DIR, 'pages');
const WAIT_MS = 15_000;
const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: '375px', width: 375, height: 740 },
] as const;
const APP = 'https://app.example.com';

interface AxeViolation {
  id: string;
  impact: 'minor' | 'moderate' | 'serious' | 'critical' | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}
interface PageResult {
  page: string;
  viewport: string;
  status: number | null;
  screenshot: string;
  violations: Array<{ id: string; impact: string | null; nodes: number }>;
  passes: number;
  scrollWidth: number;
}

const axeSource = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const results: PageResult[] = [];
const missing = chromiumMissing();

if (missing && !process.env.CI) {
  console.warn(`[e2e] pages test skipped: ${missing}`);
  it.skip(`pages in a real browser (skipped: ${missing})`, () => undefined);
} else {
  describe('every page in Chromium: axe-core, 375 px, screenshots', () => {
    let fixture: LocalFixture;
    let broken: LocalFixture;
    let logoServer: Server;
    let secretsDir: string;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    let connectionId: string;

    beforeAll(async () => {
      if (missing) throw new Error(`CI must provide the browser for the e2e test: ${missing}`);
      await mkdir(SHOT_DIR, { recursive: true });
      fixture = await startTestBroker({ config: { returnToAllowlist: [APP] } });

      // The misconfigured, branded deployment: the placeholder secret, and a logo served from loopback.
      logoServer = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'image/svg+xml' });
        res.end('<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><rect width="32" height="32" rx="6" fill="#6f42c1"/><path d="M9 22l7-13 7 13z" fill="#fff"/></svg>');
      });
      await new Promise<void>((resolve) => logoServer.listen(0, '127.0.0.1', resolve));
      secretsDir = await mkdtemp(join(tmpdir(), 'broker-e2e-misconfigured-'));
      const secretsFile = join(secretsDir, 'secrets.json');
      // The sandbox's secret still holds the deploy-time placeholder (not configured yet); HubSpot's lacks its client_secret (misconfigured).
      await writeFile(secretsFile, JSON.stringify({ sandbox: { client_id: 'REPLACE_ME', client_secret: 'placeholder' }, hubspot: { client_id: 'hubspot-app' } }));
      broken = await startTestBroker({
        env: {
          BROKER_TABLE_NAME: 'e2e-misconfigured',
          BROKER_SECRETS_FILE: secretsFile,
          BROKER_BRAND_NAME: 'Acme CRM',
          BROKER_BRAND_LOGO_URL: `http://127.0.0.1:${(logoServer.address() as AddressInfo).port}/logo.svg`,
          BROKER_BRAND_COLOR: '#6f42c1',
          BROKER_SUPPORT_URL: 'mailto:help@acme.example',
        },
      });

      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
      context = await browser.newContext({ viewport: VIEWPORTS[0] });
      context.setDefaultTimeout(WAIT_MS);
      context.setDefaultNavigationTimeout(WAIT_MS);
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: fixture.local.url });
      page = await context.newPage();
    });

    afterAll(async () => {
      await writeFile(join(OUT_DIR, 'axe-results.json'), `${JSON.stringify(results, null, 2)}\n`).catch(() => undefined);
      await context?.close().catch(() => undefined);
      await browser?.close().catch(() => undefined);
      await fixture?.close();
      await broken?.close();
      await new Promise((resolve) => logoServer?.close(resolve));
      if (secretsDir) await rm(secretsDir, { recursive: true, force: true });
    });

    /** axe on the page as it is now; screenshot; no sideways scroll. Returns the serious or critical violations. */
    async function check(name: string, viewport: (typeof VIEWPORTS)[number], status: number | null): Promise<AxeViolation[]> {
      const source = await axeSource;
      const axe = (await page.evaluate(`${source}\n;axe.run(document, { resultTypes: ['violations'] }).then((r) => ({ violations: r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) })), passes: r.passes.length }))`)) as {
        violations: AxeViolation[];
        passes: number;
      };
      const scrollWidth = (await page.evaluate('document.documentElement.scrollWidth')) as number;
      const screenshot = join(SHOT_DIR, `${name}-${viewport.name}.png`);
      await page.screenshot({ path: screenshot, fullPage: true });
      results.push({
        page: name,
        viewport: viewport.name,
        status,
        screenshot: screenshot.slice(screenshot.indexOf('.data/')),
        violations: axe.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })),
        passes: axe.passes,
        scrollWidth,
      });
      expect(scrollWidth, `${name} at ${viewport.name} scrolls sideways`).toBeLessThanOrEqual(viewport.width);
      return axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    }

    /** Opens `url` at each width (a function: a new URL per width, for one-time callbacks) and checks it; `expectText` must be on the page. */
    async function checkPage(name: string, url: string | (() => Promise<string>), expectedStatus: number, expectText: string): Promise<void> {
      for (const viewport of VIEWPORTS) {
        await page.setViewportSize(viewport);
        const response = await page.goto(typeof url === 'string' ? url : await url());
        expect(response?.status(), name).toBe(expectedStatus);
        expect(await page.locator('main').textContent(), name).toContain(expectText);
        expect(await page.getByRole('heading', { level: 1 }).count(), name).toBe(1);
        const serious = await check(name, viewport, response?.status() ?? null);
        expect(serious, `${name} at ${viewport.name}: ${JSON.stringify(serious, null, 1)}`).toEqual([]);
      }
    }

    const mint = async (body: Record<string, unknown>): Promise<string> => (await fixture.local.broker.createInstallLink({ provider: 'sandbox', ...body })).url;
    /** Opens an install link in this browser (its context keeps the install cookie) and returns the state sent to the sandbox. */
    const stateOf = async (installUrl: string): Promise<string> =>
      new URL((await page.request.get(installUrl, { maxRedirects: 0 })).headers().location!).searchParams.get('state')!;
    /** The same, opened in another browser: this one never gets its install cookie. */
    const foreignStateOf = async (installUrl: string): Promise<string> =>
      new URL((await fetch(installUrl, { redirect: 'manual' })).headers.get('location')!).searchParams.get('state')!;
    const callbackUrl = (params: Record<string, string>) => `${fixture.local.url}/oauth/sandbox/callback?${new URLSearchParams({ ...params, iss: fixture.local.sandbox.issuer })}`;

    it('install refusals: unknown provider, connection_id on a public link, a signed link used, expired, altered', async () => {
      await checkPage('install-unknown-provider', `${fixture.local.url}/oauth/nosuch/install`, 404, 'Unknown provider "nosuch"');
      await checkPage('install-public-with-connection-id', `${fixture.local.installUrl}?connection_id=acme-1`, 400, 'connection_id is only accepted in a signed install link');

      const used = await mint({ connection_id: 'e2e-used', return_to: `${APP}/done` });
      expect((await fetchCallback(await followInstall(used), { redirect: 'manual' })).status).toBe(303);
      await checkPage('install-link-used', used, 409, 'already used');
      expect(await page.getByRole('link', { name: 'Back to the app' }).getAttribute('href')).toBe(`${APP}/done?error_code=install_link_used&provider=sandbox`);

      fixture.clock.advance(-120_000);
      const expired = await mint({ connection_id: 'e2e-expired', expires_in: 60 });
      fixture.clock.advance(120_000);
      await checkPage('install-link-expired', expired, 400, 'This install link has expired');

      const altered = new URL(await mint({ connection_id: 'e2e-altered' }));
      altered.searchParams.set('link', `${altered.searchParams.get('link')!.slice(0, -4)}AAAA`);
      await checkPage('install-link-invalid', altered.toString(), 400, 'This install link is not valid');
    });

    it('"Connected" after the callback (and again on reload), and its expired reload', async () => {
      await page.setViewportSize(VIEWPORTS[0]);
      await page.goto(fixture.local.installUrl);
      await page.waitForURL((url) => url.pathname === '/oauth/sandbox/connected');
      connectionId = (await page.locator('.reference code').textContent())!;
      expect(connectionId).toBe('sandbox:sandbox-user');
      await checkPage('connected', page.url(), 200, 'Your Sandbox (local oidc-provider) account is connected.');

      fixture.clock.advance(-25 * 3600_000);
      const stale = await fixture.local.broker.sealInstallResult({ connectionId, provider: 'sandbox' });
      fixture.clock.advance(25 * 3600_000);
      await checkPage('connected-expired', `${fixture.local.url}/oauth/sandbox/connected?c=${stale}`, 410, 'The connection itself is not affected');
    });

    it('callback errors: a declined public install offers "Start again", an unknown state offers nothing, an install started in another browser says so', async () => {
      const declined = async () => callbackUrl({ error: 'access_denied', state: await stateOf(fixture.local.installUrl) });
      await checkPage('callback-declined-start-again', declined, 400, 'The provider did not authorize the app (access_denied)');
      expect(await page.getByRole('link', { name: 'Start again' }).getAttribute('href')).toBe('install');
      // This browser holds a valid install cookie for the unknown state: the page is the state's refusal.
      const unknown = 'x'.repeat(43);
      const [name = '', value = ''] = (await installCookieFor(fixture.local, unknown)).split('=');
      await context.addCookies([{ name, value, url: fixture.local.url }]);
      await checkPage('callback-unknown-state', callbackUrl({ code: 'abc', state: unknown }), 400, 'start the install again');
      const elsewhere = async () => callbackUrl({ code: 'abc', state: await foreignStateOf(fixture.local.installUrl) });
      await checkPage('callback-other-browser', elsewhere, 400, 'This install was started in another browser');
    });

    it('a misconfigured deployment, branded: whom to tell, the reference, the logo under the page\'s CSP; a provider not configured yet says the same', async () => {
      await checkPage('provider-not-configured', broken.local.installUrl, 404, 'Connecting a sandbox account is not configured in Acme CRM yet');
      expect(await page.getByRole('link', { name: 'Contact Acme CRM support' }).getAttribute('href')).toBe('mailto:help@acme.example');
      await checkPage('misconfigured', `${broken.local.url}/oauth/hubspot/install`, 500, 'Please tell Acme CRM\'s support');
      expect(await page.getByRole('link', { name: 'Contact Acme CRM support' }).getAttribute('href')).toBe('mailto:help@acme.example');
      expect(await page.locator('header img').evaluate((img) => (img as unknown as { complete: boolean; naturalWidth: number }).naturalWidth > 0)).toBe(true);
    });

    it('the dashboard: empty state, connections, a refresh that says what changed, copy id — at both widths', async () => {
      for (const viewport of VIEWPORTS) {
        await page.setViewportSize(viewport);
        await page.goto(broken.local.dashboardUrl);
        await page.locator('#connections-empty').waitFor({ state: 'visible' });
        expect(await page.locator('#connections-table').isVisible()).toBe(false);
        expect(await check('dashboard-empty', viewport, 200)).toEqual([]);
      }

      for (const viewport of VIEWPORTS) {
        await page.setViewportSize(viewport);
        await page.goto(fixture.local.dashboardUrl);
        const refresh = page.getByRole('button', { name: `Refresh ${connectionId}` });
        await refresh.waitFor();
        expect(await check('dashboard', viewport, 200)).toEqual([]);

        await refresh.click();
        const msg = page.getByRole('status');
        // "next refresh due" only when it moved: an entry on a cycle refreshed out of turn keeps its turn.
        await expect.poll(() => msg.textContent(), { timeout: WAIT_MS }).toMatch(new RegExp(`^Refreshed ${connectionId}: new access token, expires .+ \\(was .+\\)(; next refresh due .+)?\\.$`));
        expect(await check('dashboard-after-refresh', viewport, 200)).toEqual([]);

        await page.getByRole('button', { name: `Copy id ${connectionId}` }).click();
        await expect.poll(() => msg.textContent(), { timeout: WAIT_MS }).toBe(`Copied ${connectionId} to the clipboard.`);
        expect(await page.evaluate('navigator.clipboard.readText()')).toBe(connectionId);
      }
    });

    it('the dashboard follows the list cursor: 230 connections are all shown, not the first page of 200', async () => {
      // Written straight into the misconfigured deployment's (so far empty) table: a list never unseals.
      const at = Date.now();
      const ids = Array.from({ length: 230 }, (_, i) => `sandbox:bulk-${String(i).padStart(3, '0')}`);
      for (const id of ids) {
        await broken.local.broker.ctx.store.create({
          id, provider: 'sandbox', authMode: 'OAUTH2', status: 'active', scopes: ['openid'], sealed: 'local1.x.y.z', tokenGen: 1,
          expiresAt: at + 3600_000, version: 1, failureCount: 0, metadata: {}, createdAt: at, updatedAt: at,
        });
      }
      await page.setViewportSize(VIEWPORTS[0]);
      await page.goto(broken.local.dashboardUrl);
      await expect.poll(() => page.locator('#connections-count').textContent(), { timeout: WAIT_MS }).toBe('(230)');
      expect((await page.locator('#connections tr code').allTextContents()).sort()).toEqual(ids);
      expect(await page.getByRole('button', { name: `Refresh ${ids[229]}` }).count()).toBe(1);
    });
  });
}
