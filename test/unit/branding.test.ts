import { describe, expect, it } from 'vitest';
import { brandingEnvironment, brandingFromEnv, checkBranding, contrastRatio, textColorOn } from '../../lib/branding';
import { configFromEnv } from '../../lib/runtime';
import { BrokerError, withInstallAttempt } from '../../lib/errors';
import { errorPage } from '../../lib/http/pages';
import { escapeHtml } from '../../lib/http/responses';
import { brokerError } from '../support/errors';

function expectBrokerError(fn: () => unknown, code: string) {
  const err = brokerError(fn);
  expect(err.code).toBe(code);
  return err;
}

describe('checkBranding', () => {
  it('accepts and normalises every field', () => {
    expect(checkBranding({ appName: '  Acme CRM ', logoUrl: 'https://cdn.acme.example/logo.svg', color: '#1F6', supportUrl: 'mailto:help@acme.example' })).toEqual({
      appName: 'Acme CRM',
      logoUrl: 'https://cdn.acme.example/logo.svg',
      color: '#11ff66',
      supportUrl: 'mailto:help@acme.example',
    });
  });

  it.each([
    ['color', { color: 'red' }, 'BROKER_BRAND_COLOR'],
    ['color', { color: '#12345' }, 'BROKER_BRAND_COLOR'],
    ['color', { color: 'url(javascript:x)' }, 'BROKER_BRAND_COLOR'],
    ['logoUrl', { logoUrl: 'http://cdn.acme.example/logo.svg' }, 'BROKER_BRAND_LOGO_URL'],
    ['logoUrl', { logoUrl: 'javascript:alert(1)' }, 'BROKER_BRAND_LOGO_URL'],
    ['logoUrl', { logoUrl: 'https://user:pw@cdn.acme.example/logo.svg' }, 'BROKER_BRAND_LOGO_URL'],
    ['logoUrl', { logoUrl: '/logo.svg' }, 'BROKER_BRAND_LOGO_URL'],
    // A host WHATWG URL accepts but DNS never serves: its origin goes into the pages' CSP, where ';' and ',' start a directive or a policy.
    ['logoUrl', { logoUrl: 'https://cdn.acme.example;img-src/logo.svg' }, 'BROKER_BRAND_LOGO_URL'],
    ['logoUrl', { logoUrl: 'https://cdn.acme.example,default-src/logo.svg' }, 'BROKER_BRAND_LOGO_URL'],
    ['logoUrl', { logoUrl: "https://cdn'acme.example/logo.svg" }, 'BROKER_BRAND_LOGO_URL'],
    ['supportUrl', { supportUrl: 'ftp://acme.example' }, 'BROKER_SUPPORT_URL'],
    ['supportUrl', { supportUrl: 'mailto:not an address' }, 'BROKER_SUPPORT_URL'],
    ['appName', { appName: '' }, 'BROKER_BRAND_NAME'],
    ['appName', { appName: 'x'.repeat(61) }, 'BROKER_BRAND_NAME'],
    ['appName', { appName: 'Acme\u202eCRM' }, 'BROKER_BRAND_NAME'],
  ])('refuses a bad %s (%j) with configuration_error naming %s', (_field, input, variable) => {
    const err = expectBrokerError(() => checkBranding(input), 'configuration_error');
    expect(err.message.startsWith(`${variable} `)).toBe(true);
  });

  it('names the CDK prop when the construct checks it', () => {
    const err = expectBrokerError(() => checkBranding({ color: 'red' }, { appName: 'branding.appName', logoUrl: 'branding.logoUrl', color: 'branding.color', supportUrl: 'branding.supportUrl' }), 'configuration_error');
    expect(err.message).toMatch(/^branding\.color /);
  });

  it('allows http only for a local logo (npm start)', () => {
    expect(checkBranding({ logoUrl: 'http://localhost:3000/logo.png' }).logoUrl).toBe('http://localhost:3000/logo.png');
  });
});

describe('branding from the environment', () => {
  it('is undefined when no variable is set, and reaches the broker config when one is', () => {
    expect(brandingFromEnv({})).toBeUndefined();
    expect(configFromEnv({ BROKER_BRAND_NAME: 'Acme CRM', BROKER_BRAND_COLOR: '#0a0' }).branding).toEqual({ appName: 'Acme CRM', color: '#00aa00' });
  });

  it('a bad variable stops the start (configFromEnv throws)', () => {
    expectBrokerError(() => configFromEnv({ BROKER_BRAND_COLOR: 'blue' }), 'configuration_error');
  });

  it('round-trips through the variables the construct sets', () => {
    const branding = { appName: 'Acme', color: '#123456', supportUrl: 'https://acme.example/help' };
    expect(brandingFromEnv(brandingEnvironment(branding))).toEqual(branding);
  });
});

describe('textColorOn', () => {
  it('reaches AA (4.5:1) on every colour an operator can choose (all 4,096 #rgb)', () => {
    let worst = Infinity;
    for (let n = 0; n < 4096; n++) {
      const hex = `#${[8, 4, 0].map((shift) => ((n >> shift) & 15).toString(16).repeat(2)).join('')}`;
      worst = Math.min(worst, contrastRatio(hex, textColorOn(hex)));
    }
    expect(worst).toBeGreaterThanOrEqual(4.5);
  });

  it('matches the WCAG ratio of black on white', () => {
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21, 5);
  });
});

describe('the app name on a page', () => {
  it("reads as written in every sentence, even with characters String.replace treats as patterns ($&, $')", () => {
    const appName = "Acme $& $' Co";
    for (const linkSpent of [false, true]) {
      const err = withInstallAttempt(new BrokerError('authorization_denied', 'The provider did not authorize the app'), { provider: 'sandbox', link: 'signed', linkSpent });
      const body = errorPage(err, { branding: { appName } }).body ?? '';
      const advice = [...body.matchAll(/<p>([^<]*)<\/p>/g)].map((m) => m[1]!).find((text) => text.includes('link'))!;
      expect(advice).toContain(escapeHtml(appName));
      expect(advice).not.toContain('{app}');
    }
  });
});
