/**
 * Connection values that land in the scheme or host of a catalogue URL (url-positions.ts) must
 * match a pattern: the entry's own, a DNS label for a host position without one, and nothing
 * at all for a whole base URL without one. Checked on arrival (validateConnectionConfig) and
 * again at use (every URL the broker builds).
 */
import { describe, expect, it } from 'vitest';
import { buildTokenRequest } from '../../../lib/oauth/token-endpoint';
import { parseCatalogue } from '../../../lib/providers/catalogue';
import { validateConnectionConfig } from '../../../lib/providers/connection-config';
import type { Provider } from '../../../lib/providers/schema';
import { hostPlaceholders } from '../../../lib/providers/url-positions';

const CLIENT = { client_id: 'id', client_secret: 'app-secret' };

function entry(fields: Record<string, unknown>): Provider {
  return parseCatalogue({ p: { display_name: 'P', auth_mode: 'OAUTH2_CC', ...fields } }, 'url-positions test').get('p')!;
}

describe('hostPlaceholders', () => {
  it.each([
    ['${connectionConfig.base}/oauth/token', [{ key: 'base', position: 'base_url' }]],
    ['https://${connectionConfig.sub}.zendesk.com/oauth/tokens', [{ key: 'sub', position: 'host' }]],
    ['https://${connectionConfig.sub}.auth.${connectionConfig.region}.example.com/token', [
      { key: 'sub', position: 'host' },
      { key: 'region', position: 'host' },
    ]],
    ['https://api.example.com/${connectionConfig.account}/token?x=${connectionConfig.q}', []],
    ['https://api.example.com:${connectionConfig.port}/token', [{ key: 'port', position: 'host' }]],
    ['${connectionConfig.base}/a/${connectionConfig.path}', [{ key: 'base', position: 'base_url' }]],
  ])('%s', (template, expected) => {
    expect(hostPlaceholders(template)).toEqual(expected);
  });
});

describe('on arrival: validateConnectionConfig', () => {
  const subdomain = entry({
    token_url: 'https://${connectionConfig.subdomain}.example.com/oauth/token',
    connection_config: { subdomain: { title: 'Subdomain' } },
  });

  it('host outside the pattern: a host-position value without an entry pattern must be one DNS label', () => {
    expect(validateConnectionConfig(subdomain, { subdomain: 'acme-1' })).toEqual({ subdomain: 'acme-1' });
    for (const value of ['evil.com', 'evil.com/x', 'a:1', 'ACME', '-acme', 'a_b', 'x'.repeat(64)]) {
      expect(() => validateConnectionConfig(subdomain, { subdomain: value }), value).toThrow(/connection_config\.subdomain must be a single DNS label/);
    }
  });

  it('the entry\'s own pattern wins over the DNS-label default', () => {
    const dotted = entry({
      token_url: 'https://${connectionConfig.host}/oauth/token',
      connection_config: { host: { title: 'Host', pattern: '[a-z0-9-]+\\.example\\.com' } },
    });
    expect(validateConnectionConfig(dotted, { host: 'acme.example.com' })).toEqual({ host: 'acme.example.com' });
    expect(() => validateConnectionConfig(dotted, { host: 'evil.com' })).toThrow(/wrong format/);
  });

  it('a whole base URL without an entry pattern refuses every value, and says the entry needs one (the entry still loads)', () => {
    const open = entry({ token_url: '${connectionConfig.instance_url}/token', connection_config: { instance_url: { title: 'Instance' } } });
    for (const value of ['https://acme.example.com', 'https://evil.example']) {
      expect(() => validateConnectionConfig(open, { instance_url: value })).toThrow(/no pattern for it.*add connection_config\.instance_url\.pattern/);
    }
  });

  it('values in the path or query are not host positions (they are percent-encoded)', () => {
    const pathOnly = entry({ token_url: 'https://api.example.com/${connectionConfig.account}/token', connection_config: { account: { title: 'Account' } } });
    expect(validateConnectionConfig(pathOnly, { account: 'Acme Corp/1' })).toEqual({ account: 'Acme Corp/1' });
  });
});

describe('at use: every URL the broker builds', () => {
  it('a stored value outside the rule is refused before any request is built (defence in depth)', () => {
    const subdomain = entry({
      token_url: 'https://${connectionConfig.subdomain}.example.com/oauth/token',
      connection_config: { subdomain: { title: 'Subdomain' } },
    });
    expect(() => buildTokenRequest(subdomain, CLIENT, { grant_type: 'client_credentials' }, { subdomain: 'evil.com' })).toThrow(/single DNS label/);
    expect(buildTokenRequest(subdomain, CLIENT, { grant_type: 'client_credentials' }, { subdomain: 'acme' }).url.host).toBe('acme.example.com');
  });
});
