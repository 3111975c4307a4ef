/**
 * Zendesk (OAuth clients of a Zendesk Support account), as documented:
 * - https://support.zendesk.com/hc/en-us/articles/4408845965210 (OAuth clients, redirect URLs)
 * - https://developer.zendesk.com/documentation/api-basics/authentication/refresh-token
 * - https://support.zendesk.com/hc/en-us/articles/115012709368 (the invalid_grant answer)
 * - https://developer.zendesk.com/documentation/authentication/ (PKCE, revoking a token)
 *
 * Every endpoint is on the account's subdomain (`{subdomain}.zendesk.com`); its tokens are
 * good only there. The token endpoint takes JSON with the client credentials in the body.
 * Access tokens last 30 minutes and refresh tokens 30 days by default; a refresh "will also
 * return a refresh token and delete the previous access and refresh tokens". Revoking is
 * `DELETE /api/v2/oauth/tokens/current.json` with the token as bearer, answered 204.
 */
import { answer, checkAuthorizeRequest, credentialOf, isJson, registeredRedirect, STANDIN_APP, startStandIn, type StandIn, type StandInOptions } from './standin';

const DAY_S = 24 * 3600;
const INVALID_GRANT = {
  error: 'invalid_grant',
  error_description:
    'The provided access grant is invalid, expired, or revoked (e.g. invalid assertion, expired authorization token, bad end-user password credentials, or mismatching authorization code and redirection URI).',
};

export async function startZendeskStandIn(options: StandInOptions = {}): Promise<StandIn> {
  const redirectUris = options.redirectUris ?? [registeredRedirect('zendesk')];
  const app = options.app ?? STANDIN_APP;
  return startStandIn('zendesk', [/[a-z0-9][a-z0-9-]*\.zendesk\.com/], options, {
    paths: { authorize: '/oauth/authorizations/new', token: '/oauth/tokens' },
    hostBound: true,
    expiresIn: 1800,
    rotateRefreshTokens: true,
    reusedRefreshToken: 'dead',
    refreshRevokesOldAccessTokens: true,
    refreshIdleMs: 30 * DAY_S * 1000,
    deadGrantBody: INVALID_GRANT,
    errors: {
      invalid_client: () => answer(401, { error: 'invalid_client', error_description: 'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.' }),
      invalid_code: () => answer(400, INVALID_GRANT),
    },
    checkTokenRequest(req) {
      // Zendesk's examples post JSON with client_id and client_secret in the body.
      if (!isJson(req)) return answer(400, { error: 'invalid_request', error_description: 'The request is missing a required parameter.' });
      if (req.clientAuth !== 'post') return answer(401, { error: 'invalid_client' });
      return undefined;
    },
    consent(req) {
      const refused = checkAuthorizeRequest(req, app, redirectUris);
      if (refused) return refused;
      if (req.params['response_type'] !== 'code' || typeof req.params['scope'] !== 'string') {
        return answer(400, '<h1>invalid_request</h1>', { 'content-type': 'text/html' });
      }
      return { extras: { _subdomain: req.host.replace(/\.zendesk\.com$/, '') } };
    },
    shapeTokenResponse(body) {
      return { ...body, token_type: 'bearer', ...(body['refresh_token'] !== undefined ? { refresh_token_expires_in: 30 * DAY_S } : {}) };
    },
    routes: [
      {
        method: 'DELETE',
        path: '/api/v2/oauth/tokens/current.json',
        revocation: true,
        handle(req, api) {
          const token = credentialOf(req);
          const grant = api.accessGrant(token);
          if (!token || !grant || grant.host !== req.host) return answer(401, { error: 'Couldn\'t authenticate you' });
          api.recordRevocation(token);
          // The token record goes, with the refresh token attached to it (inferred).
          api.revokeGrant(grant.grantId);
          return answer(204);
        },
      },
    ],
  });
}
