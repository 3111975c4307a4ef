/**
 * Pipedrive (Marketplace apps), as documented:
 * - https://developers.pipedrive.com/docs/api/v1/Oauth
 * - https://pipedrive.readme.io/docs/marketplace-oauth-authorization
 * - https://pipedrive.readme.io/docs/marketplace-oauth-authorization-state-parameter
 *
 * The token endpoint takes a form body with HTTP Basic. The answer adds `api_domain`
 * (`https://{company}.pipedrive.com`), the company's own API host. The refresh token "expires
 * if not used in 60 days"; whether it rotates is not stated (store what comes back): this
 * stand-in returns the same one (inferred). Installs started in the Marketplace arrive without
 * `state`. Revocation: POST form `token` with Basic (others' code). The company is read from
 * `GET {api_domain}/api/v1/users/me` (`data.company_id`).
 */
import { answer, checkAuthorizeRequest, credentialOf, isForm, registeredRedirect, STANDIN_APP, startStandIn, type StandIn, type StandInOptions } from './standin';

const DAY_MS = 24 * 3600_000;

export interface PipedriveCompany {
  company_id: number;
  company_domain: string;
}

export async function startPipedriveStandIn(options: StandInOptions & { company?: PipedriveCompany } = {}): Promise<StandIn> {
  const redirectUris = options.redirectUris ?? [registeredRedirect('pipedrive')];
  const app = options.app ?? STANDIN_APP;
  const company = options.company ?? { company_id: 7_654_321, company_domain: 'acme' };
  return startStandIn('pipedrive', ['oauth.pipedrive.com', /[a-z0-9][a-z0-9-]*\.pipedrive\.com/], options, {
    paths: { authorize: '/oauth/authorize', token: '/oauth/token' },
    expiresIn: 3599,
    rotateRefreshTokens: false,
    refreshIdleMs: 60 * DAY_MS,
    // The dead-grant body is not documented; RFC 6749's shape (inferred).
    deadGrantBody: { error: 'invalid_grant', message: 'Invalid grant: refresh token is invalid' },
    errors: {
      invalid_client: () => answer(401, { error: 'invalid_client', message: 'Invalid client' }),
      invalid_code: () => answer(400, { error: 'invalid_grant', message: 'Invalid grant: authorization code is invalid' }),
    },
    checkTokenRequest(req) {
      if (!isForm(req)) return answer(400, { error: 'invalid_request' });
      if (req.clientAuth !== 'basic') return answer(401, { error: 'invalid_client', message: 'Invalid client' });
      return undefined;
    },
    consent(req) {
      const refused = checkAuthorizeRequest(req, app, redirectUris);
      if (refused) return refused;
      return { extras: { api_domain: `https://${company.company_domain}.pipedrive.com`, _company: company } };
    },
    shapeTokenResponse(body) {
      return { ...body, scope: 'base,deals:read' };
    },
    routes: [
      {
        method: 'POST',
        path: '/oauth/revoke',
        revocation: true,
        handle(req, api) {
          if (req.clientAuth !== 'basic' || req.clientId !== app.client_id) return answer(401, { error: 'invalid_client' });
          const token = typeof req.params['token'] === 'string' ? req.params['token'] : undefined;
          const grant = api.refreshGrant(token) ?? api.accessGrant(token);
          if (token && grant) {
            api.recordRevocation(token);
            api.revokeGrant(grant.grantId);
          }
          return answer(200);
        },
      },
      {
        method: 'GET',
        path: '/api/v1/users/me',
        handle(req, api) {
          const grant = api.accessGrant(credentialOf(req));
          if (!grant) return answer(401, { success: false, error: 'unauthorized access', errorCode: 401, error_info: 'Please check developers.pipedrive.com' });
          const who = grant.extras['_company'] as PipedriveCompany;
          return answer(200, { success: true, data: { id: 11_000_001, name: 'Owner', company_id: who.company_id, company_domain: who.company_domain } });
        },
      },
    ],
  });
}
