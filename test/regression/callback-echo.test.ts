/**
 * Regression (found by attacking the public callback as a stranger): a callback parameter over
 * 2,048 characters was refused, but its *name*, which has no bound of its own, was echoed whole in
 * the message, the page and the log line: a stranger could write kilobytes of their own text into
 * the broker's logs and the page per request. The name is now cut to 40 characters, as the admin
 * routes cut an unknown field's.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { captureLogs } from '../support/logs';
import { installCookieFor, startTestBroker, type LocalFixture } from '../support/local-broker';

let fixture: LocalFixture;
beforeAll(async () => {
  fixture = await startTestBroker();
});
afterAll(async () => {
  await fixture?.close();
});

it('an over-long callback parameter with a long name → 400 that quotes at most 40 characters of the name, in the answer and the log', async () => {
  const name = `n${'k'.repeat(3000)}`;
  // With the install cookie of its state, so the callback gets past the browser binding to the parameters.
  const cookie = await installCookieFor(fixture.local, 's');
  const logs = captureLogs();
  let res: Response;
  try {
    res = await fetch(`${fixture.local.url}/oauth/sandbox/callback?state=s&${name}=${'v'.repeat(2049)}`, { headers: { accept: 'application/json', cookie } });
  } finally {
    logs.restore();
  }
  expect(res.status).toBe(400);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error).toMatchObject({ code: 'invalid_request', message: `Callback parameter "${name.slice(0, 40)}" is too long` });
  const refused = logs.withMessage('request refused');
  expect(refused).toHaveLength(1);
  expect(refused[0]!.reason).toBe(body.error.message);
  expect(logs.text()).not.toContain('k'.repeat(41));
});
