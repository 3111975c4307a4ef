import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../../lib/errors';
import { brokerError } from '../../support/errors';
import { expandTemplate, expandValueTemplate, templatePlaceholders } from '../../../lib/providers/template';


describe('expandTemplate', () => {
  it('returns a template without placeholders unchanged', () => {
    expect(expandTemplate('https://api.example.com/token?x=1', {}, 'acme')).toBe('https://api.example.com/token?x=1');
  });

  it('fills a leading placeholder with a base URL (Marketo identity URL)', () => {
    const url = expandTemplate(
      '${connectionConfig.identity_url}/oauth/token',
      { connectionConfig: { identity_url: 'https://284-RPR-133.mktorest.com/identity' } },
      'marketo',
    );
    // Normalised as an HTTP client would send it: the host is lower-cased.
    expect(url).toBe('https://284-rpr-133.mktorest.com/identity/oauth/token');
  });

  it('drops the base URL trailing slash the template already supplies', () => {
    const url = expandTemplate('${connectionConfig.base}/token', { connectionConfig: { base: 'https://id.example.com/' } }, 'acme');
    expect(url).toBe('https://id.example.com/token');
  });

  it.each([
    ['a relative value', 'id.example.com/identity'],
    ['a query', 'https://id.example.com/identity?x=1'],
    ['a fragment', 'https://id.example.com/identity#x'],
    ['credentials', 'https://user:pass@id.example.com/identity'],
    ['another scheme', 'javascript://id.example.com/x'],
    ['whitespace a parser would drop', 'https://id.example.com/iden\ntity'],
  ])('refuses a base URL with %s', (_name, value) => {
    const err = brokerError(() => expandTemplate('${connectionConfig.base}/token', { connectionConfig: { base: value } }, 'acme'));
    expect(err.code).toBe('invalid_request');
    expect(err.message).toBe('connection_config.base must be an absolute http(s) URL without credentials, query or fragment (provider "acme")');
  });

  it('percent-encodes a token in a path segment (HubSpot revocation)', () => {
    const url = expandTemplate('https://api.hubapi.com/oauth/v1/refresh-tokens/${token}', { token: 'na1-ab/cd?e#f g' }, 'hubspot');
    expect(url).toBe('https://api.hubapi.com/oauth/v1/refresh-tokens/na1-ab%2Fcd%3Fe%23f%20g');
  });

  it('percent-encodes connection values in the host and the query', () => {
    const url = expandTemplate(
      'https://${connectionConfig.subdomain}.example.com/a?tenant=${connectionConfig.tenant}',
      { connectionConfig: { subdomain: 'acme', tenant: 'a&b=c' } },
      'acme',
    );
    expect(url).toBe('https://acme.example.com/a?tenant=a%26b%3Dc');
    expect(new URL(url).searchParams.get('tenant')).toBe('a&b=c');
  });

  it('refuses dot segments in a path, which URL parsers would resolve', () => {
    for (const value of ['.', '..']) {
      const err = brokerError(() => expandTemplate('https://x.test/a/${connectionConfig.id}/b', { connectionConfig: { id: value } }, 'acme'));
      expect(err.code).toBe('invalid_request');
      expect(err.message).toBe('connection_config.id must not be "." or ".." (provider "acme")');
    }
  });

  it('throws invalid_request naming the missing connection_config key and the provider', () => {
    const err = brokerError(() => expandTemplate('${connectionConfig.identity_url}/oauth/token', { connectionConfig: {} }, 'marketo'));
    expect(err.code).toBe('invalid_request');
    expect(err.message).toBe('connection_config.identity_url is required by provider "marketo"');
    expect(err.details).toEqual({ field: 'connection_config.identity_url' });
  });

  it('treats an empty value and an inherited property as missing', () => {
    expect(brokerError(() => expandTemplate('https://x.test/${connectionConfig.id}', { connectionConfig: { id: '' } }, 'acme')).code).toBe(
      'invalid_request',
    );
    expect(brokerError(() => expandTemplate('https://x.test/${connectionConfig.constructor}', { connectionConfig: {} }, 'acme')).message).toBe(
      'connection_config.constructor is required by provider "acme"',
    );
  });

  it('treats a missing token as a bug in the caller, without echoing anything secret', () => {
    const err = brokerError(() => expandTemplate('https://x.test/revoke/${token}', {}, 'hubspot'));
    expect(err.code).toBe('internal_error');
  });

  it('rejects an unknown placeholder as a configuration error', () => {
    const err = brokerError(() => expandTemplate('https://x.test/${secret}', {}, 'acme'));
    expect(err.code).toBe('configuration_error');
    expect(err.message).toContain('unknown placeholder ${secret}');
  });

  it('never puts a value into an error message', () => {
    const err = brokerError(() => expandTemplate('https://x.test/${token}', { token: '\uD800-secret' }, 'acme'));
    expect(err.message).not.toContain('secret');
  });

  it('keeps a path value in exactly one segment for any string (property)', () => {
    const value = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.constantFrom('/', '?', '#', '\\', '..', '.', '%2e%2e', '%2F', '/../admin', '?x=1#y', ' ', '@evil.test'),
      fc.array(fc.constantFrom('/', '?', '#', '.', '\\', '%', 'a', '\u00e9', '\uD83D\uDE00'), { maxLength: 8 }).map((parts) => parts.join('')),
    );
    fc.assert(
      fc.property(value, (v) => {
        let expanded: string;
        try {
          expanded = expandTemplate('https://api.example.com/v1/${token}/revoke', { token: v }, 'acme');
        } catch (err) {
          // Refusing is fine (empty, dot segment, lone surrogate); a 4xx/5xx BrokerError, never a crash.
          return err instanceof BrokerError;
        }
        const url = new URL(expanded);
        const segments = url.pathname.split('/');
        return (
          url.origin === 'https://api.example.com' &&
          url.search === '' &&
          url.hash === '' &&
          segments.length === 4 &&
          segments[1] === 'v1' &&
          segments[3] === 'revoke' &&
          decodeURIComponent(segments[2]!) === v
        );
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a query value in its own parameter for any string (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1 }), (v) => {
        const expanded = expandTemplate('https://api.example.com/a?tenant=${connectionConfig.tenant}&x=1', { connectionConfig: { tenant: v } }, 'acme');
        const url = new URL(expanded);
        return (
          [...url.searchParams.keys()].join(',') === 'tenant,x' &&
          url.searchParams.get('tenant') === v &&
          url.pathname === '/a' &&
          url.hash === ''
        );
      }),
      { numRuns: 500 },
    );
  });
});

describe('expandValueTemplate', () => {
  it('fills parameter values verbatim, leaving escaping to the request encoder', () => {
    expect(expandValueTemplate('${connectionConfig.account}/x', { connectionConfig: { account: 'a&b c' } }, 'acme')).toBe('a&b c/x');
  });

  it('throws invalid_request for a missing value, like expandTemplate', () => {
    const err = brokerError(() => expandValueTemplate('${connectionConfig.account}', {}, 'acme'));
    expect(err.code).toBe('invalid_request');
    expect(err.message).toBe('connection_config.account is required by provider "acme"');
  });
});

describe('templatePlaceholders', () => {
  it('lists connection values, the token, and anything unknown or unterminated', () => {
    expect(templatePlaceholders('${connectionConfig.base}/x/${token}?a=${other}&b=${oops')).toEqual([
      { kind: 'connectionConfig', key: 'base', atStart: true, index: 0 },
      { kind: 'token', atStart: false, index: 27 },
      { kind: 'unknown', text: '${other}', atStart: false, index: 38 },
      { kind: 'unknown', text: '${ (unterminated)', atStart: false },
    ]);
  });
});
