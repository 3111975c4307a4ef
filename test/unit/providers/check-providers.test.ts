import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { checkProvidersFile } from '../../../scripts/check-providers';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const FIXTURES = 'test/fixtures/nango-providers.yaml';
const tempDir = mkdtempSync(path.join(tmpdir(), 'providers-check-'));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

describe('npm run providers:check', () => {
  const report = checkProvidersFile(path.join(ROOT, FIXTURES));
  const lines = report.text.split('\n');

  it('counts what loads and what is skipped in a file mixing every Nango auth mode, and exits 0', () => {
    expect(report.exitCode).toBe(0);
    expect(lines.at(-2)).toBe('12 load, 20 skipped, 0 invalid');
  });

  it('prints the authorize URL each OAUTH2 entry would build, connection values shown as <name>', () => {
    expect(lines).toContain(
      '  authorize: https://<subdomain>.zendesk.com/oauth/authorizations/new?response_type=code&client_id=<client_id>&redirect_uri=https%3A%2F%2Fbroker.example.com%2Foauth%2Fzendesk%2Fcallback&scope=read&state=<state>&code_challenge=<pkce_challenge>&code_challenge_method=S256',
    );
    expect(lines).toContain('  token:     POST https://<subdomain>.authentication.<region>.hana.ondemand.com/oauth/token (form, basic)');
    expect(lines).toContain('  refresh:   POST https://api2.heygen.com/v1/oauth/refresh_token (form, client_secret_post)');
  });

  it('says why an entry is skipped', () => {
    const at = lines.indexOf("skipped  trello  (Nango's format)");
    expect(lines[at + 1]).toBe('  why:       auth_mode OAUTH1 is not served by the broker (it serves OAUTH2 and OAUTH2_CC)');
  });

  it('reports every problem of a malformed file and exits 1, from the command line too', async () => {
    const bad = path.join(tempDir, 'bad.yaml');
    writeFileSync(bad, 'acme:\n  display_name: Acme\n  auth_mode: OAUTH2\n  authorisation_url: https://a.test/a\n  token_url: https://a.test/t\n');
    const direct = checkProvidersFile(bad);
    expect(direct.exitCode).toBe(1);
    expect(direct.text).toContain(`Provider catalogue ${bad}: provider "acme": field "authorisation_url": unknown field`);

    const run = promisify(execFile);
    const failure = await run(process.execPath, ['--import', 'tsx', 'scripts/check-providers.ts', bad], { cwd: ROOT }).then(
      () => undefined,
      (err: { code?: number; stdout?: string }) => err,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stdout).toContain('0 load, 0 skipped, 1 invalid: the broker would not start with this file');
  });
});
