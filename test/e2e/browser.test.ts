/**
 * End to end in a real browser, as a new user would do it after `npm start`: open the
 * printed dashboard URL, click the sandbox install link, let the sandbox provider
 * consent, land on the "Connected" page, find the connection on the dashboard, force
 * a refresh from its button, then restart the broker on the same data directory and
 * find the connection still there.
 *
 * The broker is started exactly as `npm start` starts it (dynalite on disk, key file,
 * secrets file), only on random ports and in a temporary data directory. The browser
 * is Debian's Chromium (see test/support/browser.ts); without it the test is skipped
 * on a developer's machine and fails in CI, which must install it (.ci/run).
 * Screenshots go to .data/e2e/ (git-ignored).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalBroker, type LocalBroker } from '../../lib/local/runtime';
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumMissing } from '../support/browser';

const SCREENSHOT_DIR = fileURLToPath(new URL('../../.data/e2e/', import.meta.url));
/** Playwright's auto-waiting bound: generous for a loaded 2-core machine, far below the test timeout. */
const WAIT_MS = 15_000;

interface ConnectionSummary {
  id: string;
  provider: string;
  status: string;
  scopes: string[];
  tenant: string | null;
  created_at: string;
}

const missing = chromiumMissing();

if (missing && !process.env.CI) {
  console.warn(`[e2e] browser test skipped: ${missing}`);
  it.skip(`browser e2e (skipped: ${missing})`, () => undefined);
} else {
  describe('the dashboard in a real browser, from install link to restart', () => {
    const tableName = `e2e-${randomBytes(4).toString('hex')}`;
    let dataDir: string;
    let local: LocalBroker | undefined;
    let browser: Browser | undefined;
    let context: BrowserContext;
    let page: Page;
    let connectionId: string;

    /** As `npm start` does (lib/local/main.ts), on random ports and the test's data directory. */
    const start = (env: Record<string, string> = {}): Promise<LocalBroker> =>
      startLocalBroker({ port: 0, sandboxPort: 0, dataDir, schedulerIntervalMs: 0, env: { BROKER_TABLE_NAME: tableName, ...env } });

    const admin = async (broker: LocalBroker, method: string, path: string, body?: unknown): Promise<Response> =>
      fetch(`${broker.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${broker.adminKey}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    const listConnections = async (broker: LocalBroker): Promise<ConnectionSummary[]> => {
      const res = await admin(broker, 'GET', '/connections');
      expect(res.status).toBe(200);
      return ((await res.json()) as { connections: ConnectionSummary[] }).connections;
    };

    const accessToken = async (broker: LocalBroker, id: string): Promise<string> => {
      const res = await admin(broker, 'POST', `/connections/${encodeURIComponent(id)}/token`, {});
      expect(res.status).toBe(200);
      return ((await res.json()) as { access_token: string }).access_token;
    };

    const screenshot = async (name: string): Promise<void> => {
      await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
    };

    /** The dashboard's table row of a connection, once the page's script has filled it in. */
    const dashboardRow = async (id: string) => {
      const row = page.locator('#connections tr').filter({ has: page.locator('td code', { hasText: id }) });
      await row.waitFor({ state: 'visible' });
      return row;
    };

    beforeAll(async () => {
      if (missing) throw new Error(`CI must provide the browser for the e2e test: ${missing}. .ci/run installs it with apt-get.`);
      dataDir = await mkdtemp(join(tmpdir(), 'broker-e2e-'));
      await mkdir(SCREENSHOT_DIR, { recursive: true });
      local = await start();
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
      context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      context.setDefaultTimeout(WAIT_MS);
      context.setDefaultNavigationTimeout(WAIT_MS);
      page = await context.newPage();
    });

    afterAll(async () => {
      await context?.close().catch(() => undefined);
      await browser?.close().catch(() => undefined);
      await local?.close();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    it('opens the printed dashboard URL, follows the sandbox install link and lands on the success page', async () => {
      const broker = local!;
      expect(broker.dashboardUrl).toBe(`${broker.url}/#key=${broker.adminKey}`);
      await page.goto(broker.dashboardUrl);
      const installLink = page.getByRole('link', { name: 'Connect sandbox' });
      await installLink.waitFor();
      expect(await installLink.getAttribute('href')).toBe('/oauth/sandbox/install');
      // The page moved the key out of the address bar into sessionStorage.
      expect(page.url()).toBe(`${broker.url}/`);

      // Broker install → sandbox /auth → auto-consent interaction → broker callback.
      await installLink.click();
      await page.waitForURL((url) => url.origin === broker.url && url.pathname === '/oauth/sandbox/callback');
      const heading = page.getByRole('heading', { level: 1 });
      await heading.waitFor();
      expect(await heading.textContent()).toBe('Connected');
      expect(await page.title()).toBe('Connected');
      const detail = (await page.locator('code').textContent()) ?? '';
      const match = /^connection_id: (\S+)$/.exec(detail);
      expect(match, `success page detail: ${detail}`).not.toBeNull();
      connectionId = match![1]!;
      expect(await page.locator('body').textContent()).toContain('Your sandbox account is connected.');
      await screenshot('connected');
    });

    it('lists the new connection as active on the dashboard and in the admin API', async () => {
      const broker = local!;
      expect(connectionId).toBeDefined();
      // The dashboard polls every 5 s; loading it again is immediate. No key in the URL:
      // the page kept it in sessionStorage from the first visit.
      await page.goto(`${broker.url}/`);
      const row = await dashboardRow(connectionId);
      expect(await row.locator('td').nth(1).textContent()).toBe('sandbox');
      expect(await row.locator('td').nth(3).textContent()).toBe('active');
      expect(await row.locator('td.active').count()).toBe(1);
      expect(await page.locator('#msg').textContent()).toBe('');
      // The install produced events, shown under the connections.
      await page.locator('#events tr').first().waitFor();
      await screenshot('dashboard');

      const listed = (await listConnections(broker)).find((c) => c.id === connectionId);
      expect(listed).toMatchObject({ id: connectionId, provider: 'sandbox', status: 'active' });
    });

    it("forces a refresh from the dashboard's refresh button: the token changes and the sandbox accepts the new one", async () => {
      const broker = local!;
      const before = await accessToken(broker, connectionId);
      const row = await dashboardRow(connectionId);
      const path = `/connections/${encodeURIComponent(connectionId)}/token`;
      const [response] = await Promise.all([
        page.waitForResponse((res) => res.request().method() === 'POST' && new URL(res.url()).pathname === path),
        row.getByRole('button', { name: 'refresh' }).click(),
      ]);
      expect(response.status()).toBe(200);

      const after = await accessToken(broker, connectionId);
      expect(after).not.toBe(before);
      const me = await fetch(`${broker.sandbox.issuer}/api/me`, { headers: { authorization: `Bearer ${after}` } });
      expect(me.status).toBe(200);
      expect(await page.locator('#msg').textContent()).toBe('');
    });

    it('keeps the connection across a restart on the same data directory', async () => {
      const first = local!;
      const adminKey = first.adminKey;
      const tokenBefore = await accessToken(first, connectionId);
      const [summaryBefore] = (await listConnections(first)).filter((c) => c.id === connectionId);
      await first.close();
      local = undefined;

      // New random ports; the same admin key, passed the way a user would (BROKER_ADMIN_KEY).
      local = await start({ BROKER_ADMIN_KEY: adminKey });
      const second = local;
      expect(second.adminKey).toBe(adminKey);
      const [summaryAfter] = (await listConnections(second)).filter((c) => c.id === connectionId);
      expect(summaryAfter).toEqual(summaryBefore);

      // The sealed token decrypts with the key file kept in the data directory. The sandbox
      // provider is in memory and restarted empty, so it no longer knows this token: only
      // the broker's stored state is checked here, not that the provider still accepts it.
      const token = await second.broker.getToken(connectionId);
      expect(token.access_token).toBe(tokenBefore);
      expect(token.connection_id).toBe(connectionId);

      // And a user opening the new dashboard URL sees it.
      await page.goto(second.dashboardUrl);
      const row = await dashboardRow(connectionId);
      expect(await row.locator('td').nth(3).textContent()).toBe('active');
      await screenshot('dashboard-after-restart');
    });
  });
}
