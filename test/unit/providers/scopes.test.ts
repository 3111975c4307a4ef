import { describe, expect, it } from 'vitest';
import { builtinCatalogue } from '../../../lib/providers/builtin';
import { resolveInstallScopes } from '../../../lib/providers/scopes';
import { brokerError } from '../../support/errors';
import { testProvider } from '../oauth/fixtures';

const hubspotLike = testProvider('hubspot', {
  display_name: 'HubSpot',
  auth_mode: 'OAUTH2',
  authorization_url: 'https://app.hubspot.com/oauth/authorize',
  token_url: 'https://api.hubapi.com/oauth/v1/token',
  optional_scope_param: 'optional_scope',
  default_scopes: ['oauth'],
  default_optional_scopes: ['automation'],
  allowed_scopes: ['crm.objects.contacts.read', 'crm.objects.deals.read', 'content'],
});

describe('resolveInstallScopes', () => {
  it('gives the catalogue defaults when the install names no scopes', () => {
    expect(resolveInstallScopes(hubspotLike)).toEqual({ scopes: ['oauth'], optionalScopes: ['automation'] });
    expect(resolveInstallScopes(hubspotLike, { scopes: [], optionalScopes: [' '] })).toEqual({ scopes: ['oauth'], optionalScopes: ['automation'] });
  });

  it('gives exactly the scopes asked for when each is allowed (the allow-list or a default)', () => {
    expect(resolveInstallScopes(hubspotLike, { scopes: ['oauth', 'crm.objects.deals.read', 'oauth'], optionalScopes: ['content'] })).toEqual({
      scopes: ['oauth', 'crm.objects.deals.read'],
      optionalScopes: ['content'],
    });
  });

  it('refuses a scope the operator does not allow with scope_not_allowed (400), naming it', () => {
    const err = brokerError(() => resolveInstallScopes(hubspotLike, { scopes: ['oauth', 'crm.objects.contacts.write'] }));
    expect(err.code).toBe('scope_not_allowed');
    expect(err.status).toBe(400);
    expect(err.message).toContain('"crm.objects.contacts.write"');
    expect(err.details).toMatchObject({ field: 'scopes', provider: 'hubspot' });
    expect(brokerError(() => resolveInstallScopes(hubspotLike, { optionalScopes: ['tickets'] })).details).toMatchObject({ field: 'optional_scopes' });
  });

  it('refuses optional scopes for a provider that has no parameter for them', () => {
    const highlevel = builtinCatalogue().get('highlevel')!;
    expect(brokerError(() => resolveInstallScopes(highlevel, { optionalScopes: ['contacts.write'] })).code).toBe('invalid_request');
  });

  it('gives the built-in HighLevel entry its documented default scopes, and nothing outside them without an allow-list', () => {
    const highlevel = builtinCatalogue().get('highlevel')!;
    expect(resolveInstallScopes(highlevel)).toEqual({ scopes: ['contacts.readonly', 'locations.readonly'], optionalScopes: [] });
    expect(resolveInstallScopes(highlevel, { scopes: ['contacts.readonly'] }).scopes).toEqual(['contacts.readonly']);
    expect(brokerError(() => resolveInstallScopes(highlevel, { scopes: ['contacts.write'] })).code).toBe('scope_not_allowed');
  });
});
