import { describe, expect, it } from 'vitest';
import { brokerError } from '../../support/errors';
import { getProvider, loadCatalogue, parseCatalogue, validateConnectionConfig } from '../../../lib/providers/catalogue';
import { expandTemplate } from '../../../lib/providers/template';


const marketo = getProvider(loadCatalogue({ env: {} }), 'marketo');
const IDENTITY = 'https://284-RPR-133.mktorest.com/identity';

const acme = getProvider(
  parseCatalogue(
    {
      acme: {
        display_name: 'Acme',
        auth_mode: 'OAUTH2_CC',
        token_url: 'https://${connectionConfig.region}.acme.test/token',
        connection_config: {
          region: { pattern: '[a-z]{2}-[0-9]' },
          account: { optional: true, description: 'numeric account id', pattern: '[0-9]+' },
        },
      },
    },
    'test.yaml',
  ),
  'acme',
);

describe('validateConnectionConfig', () => {
  it('accepts a valid config and returns only the declared string values', () => {
    expect(validateConnectionConfig(marketo, { identity_url: IDENTITY })).toEqual({ identity_url: IDENTITY });
  });

  it('feeds expandTemplate with a value it accepts', () => {
    const config = validateConnectionConfig(marketo, { identity_url: IDENTITY });
    expect(expandTemplate(marketo.token_url, { connectionConfig: config }, marketo.key)).toBe(
      'https://284-rpr-133.mktorest.com/identity/oauth/token',
    );
  });

  it('requires non-optional parameters', () => {
    for (const config of [undefined, {}, { identity_url: '' }]) {
      const err = brokerError(() => validateConnectionConfig(marketo, config));
      expect(err.code).toBe('invalid_request');
      expect(err.message).toBe('connection_config.identity_url is required by provider "marketo"');
      expect(err.details).toEqual({ field: 'connection_config.identity_url' });
    }
  });

  it('lets optional parameters be left out', () => {
    expect(validateConnectionConfig(acme, { region: 'eu-1' })).toEqual({ region: 'eu-1' });
  });

  it('requires the whole value to match the pattern', () => {
    // Unanchored, the Marketo pattern would accept a foreign host that merely contains it.
    for (const value of ['https://evil.test/?https://284-RPR-133.mktorest.com/identity', 'http://284-RPR-133.mktorest.com/identity', `${IDENTITY}/x`]) {
      const err = brokerError(() => validateConnectionConfig(marketo, { identity_url: value }));
      expect(err.code).toBe('invalid_request');
      expect(err.message).toMatch(/^connection_config\.identity_url has the wrong format for provider "marketo"/);
    }
  });

  it('describes the expected format when the catalogue does', () => {
    const err = brokerError(() => validateConnectionConfig(acme, { region: 'eu-1', account: 'abc' }));
    expect(err.message).toBe('connection_config.account has the wrong format for provider "acme" (expected: numeric account id)');
  });

  it('rejects unknown keys', () => {
    const err = brokerError(() => validateConnectionConfig(marketo, { identity_url: IDENTITY, munchkin: '284' }));
    expect(err.code).toBe('invalid_request');
    expect(err.message).toBe('connection_config.munchkin is not a parameter of provider "marketo"');
  });

  it('rejects non-string values and non-object configs', () => {
    expect(brokerError(() => validateConnectionConfig(acme, { region: 42 })).message).toBe('connection_config.region must be a string');
    for (const config of ['eu-1', ['eu-1'], 3]) {
      const err = brokerError(() => validateConnectionConfig(acme, config));
      expect(err.code).toBe('invalid_request');
      expect(err.details).toEqual({ field: 'connection_config' });
    }
  });

  it('reports every problem at once', () => {
    const err = brokerError(() => validateConnectionConfig(acme, { account: 'x', extra: 'y' }));
    expect(err.message.split('; ')).toEqual([
      'connection_config.extra is not a parameter of provider "acme"',
      'connection_config.region is required by provider "acme"',
      'connection_config.account has the wrong format for provider "acme" (expected: numeric account id)',
    ]);
  });

  it('does not let a prototype key through', () => {
    const config = JSON.parse('{"region":"eu-1","__proto__":{"polluted":"yes"}}') as unknown;
    expect(brokerError(() => validateConnectionConfig(acme, config)).message).toBe(
      'connection_config.__proto__ is not a parameter of provider "acme"',
    );
  });
});

describe('validateConnectionConfig: enum, format and default_value (Nango connection_config properties)', () => {
  const zoho = getProvider(
    parseCatalogue(
      {
        shaped: {
          display_name: 'Shaped',
          auth_mode: 'OAUTH2_CC',
          token_url: 'https://accounts.zoho.${connectionConfig.extension}/oauth/v2/token',
          connection_config: {
            extension: { enum: ['com', 'eu', 'com.au'], default_value: 'com' },
            host: { format: 'hostname', optional: true },
            site: { format: 'uri', optional: true },
            tenant: { format: 'uuid', optional: true },
            admin: { format: 'email', optional: true },
          },
        },
      },
      'test.yaml',
    ),
    'shaped',
  );

  it('fills a missing value from default_value', () => {
    expect(validateConnectionConfig(zoho, {})).toEqual({ extension: 'com' });
  });

  it('accepts only the enum values', () => {
    expect(validateConnectionConfig(zoho, { extension: 'com.au' })).toEqual({ extension: 'com.au' });
    const err = brokerError(() => validateConnectionConfig(zoho, { extension: 'evil.test/x' }));
    expect(err.code).toBe('invalid_request');
    expect(err.message).toContain('connection_config.extension must be one of com, eu, com.au');
  });

  it.each([
    ['host', 'eu1.example.com', 'eu1.example.com/evil'],
    ['site', 'https://acme.example.com/base', 'javascript:alert(1)'],
    ['tenant', '0f8fad5b-d9cb-469f-a165-70867728950e', 'not-a-uuid'],
    ['admin', 'ops@example.com', 'ops@'],
  ])('checks format of %s', (name, good, bad) => {
    expect(validateConnectionConfig(zoho, { [name]: good })).toMatchObject({ [name]: good });
    const err = brokerError(() => validateConnectionConfig(zoho, { [name]: bad }));
    expect(err.details).toEqual({ field: `connection_config.${name}` });
  });
});
