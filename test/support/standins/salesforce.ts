/**
 * Salesforce (OAuth 2.0 web server flow), as documented:
 * - https://help.salesforce.com/s/articleView?id=remoteaccess_oauth_web_server_flow.htm
 * - https://help.salesforce.com/apex/HTViewHelpDoc?id=remoteaccess_oauth_refresh_token_flow.htm
 * - https://developer.salesforce.com/docs/atlas.en-us.mobile_sdk.meta/mobile_sdk/oauth_revoking_tokens.htm
 * - jsforce `oauth2.TokenResponse`
 *
 * The token response has no `expires_in` (the access token lives for the org's session
 * timeout) and adds `instance_url` (the customer's own API host), `id`
 * (`https://login.salesforce.com/id/{orgId}/{userId}`), `issued_at` (ms, a string) and
 * `signature` (base64 HMAC-SHA256 of `id` + `issued_at` keyed with the consumer secret). A
 * refresh token only with the `refresh_token` (or `offline_access`) scope; refreshes return no
 * new one unless the app turned rotation on. Revocation takes `token` with no client
 * authentication; revoking the refresh token revokes its access tokens.
 */
import { createHmac } from 'node:crypto';
import { answer, checkAuthorizeRequest, isForm, registeredRedirect, scopesOf, STANDIN_APP, startStandIn, type StandIn, type StandInOptions } from './standin';

export interface SalesforceStandInOptions extends StandInOptions {
  /** The connected app's "Refresh Token Rotation" setting. Default false. */
  rotation?: boolean;
  /** The customer's org: its id and My Domain host. */
  org?: { id: string; userId: string; myDomain: string };
  /** The org's session timeout (the access token's real life), seconds; default 7200. */
  sessionTimeoutS?: number;
}

export async function startSalesforceStandIn(options: SalesforceStandInOptions = {}): Promise<StandIn> {
  const redirectUris = options.redirectUris ?? [registeredRedirect('salesforce')];
  const app = options.app ?? STANDIN_APP;
  const clock = options.clock ?? Date.now;
  const org = options.org ?? { id: '00D5g000004Yx1bEAC', userId: '0055g00000A1b2cAAB', myDomain: 'acme.my.salesforce.com' };
  return startStandIn('salesforce', ['login.salesforce.com', 'test.salesforce.com', /[a-z0-9-]+\.my\.salesforce\.com/], options, {
    paths: { authorize: '/services/oauth2/authorize', token: '/services/oauth2/token' },
    expiresIn: options.sessionTimeoutS ?? 7200,
    rotateRefreshTokens: options.rotation ? true : 'omit',
    reusedRefreshToken: 'dead',
    deadGrantBody: { error: 'invalid_grant', error_description: 'expired access/refresh token' },
    errors: {
      invalid_client: () => answer(400, { error: 'invalid_client', error_description: 'invalid client credentials' }),
      invalid_code: () => answer(400, { error: 'invalid_grant', error_description: 'authentication failure' }),
    },
    checkTokenRequest(req) {
      if (!isForm(req)) return answer(400, { error: 'invalid_request', error_description: 'unsupported content type' });
      return undefined;
    },
    consent(req) {
      const refused = checkAuthorizeRequest(req, app, redirectUris);
      if (refused) return refused;
      if (req.params['response_type'] !== 'code') return answer(400, '<h1>error=unsupported_response_type</h1>', { 'content-type': 'text/html' });
      const scopes = scopesOf(req, ' ') ?? [];
      return { refresh: scopes.includes('refresh_token') || scopes.includes('offline_access'), extras: { _org: org } };
    },
    shapeTokenResponse(body, _grant) {
      const { expires_in: _sessionTimeout, ...rest } = body;
      const id = `https://login.salesforce.com/id/${org.id}/${org.userId}`;
      const issuedAt = String(clock());
      const signature = createHmac('sha256', app.client_secret).update(id + issuedAt).digest('base64');
      return { ...rest, instance_url: `https://${org.myDomain}`, id, issued_at: issuedAt, signature };
    },
    routes: [
      {
        // POST /services/oauth2/revoke, form token=<access or refresh token>, no client authentication.
        method: 'POST',
        path: '/services/oauth2/revoke',
        revocation: true,
        handle(req, api) {
          const token = typeof req.params['token'] === 'string' ? req.params['token'] : undefined;
          const grant = api.refreshGrant(token) ?? api.accessGrant(token);
          if (!token || !grant) return answer(400, { error: 'invalid_token', error_description: 'invalid token' });
          api.recordRevocation(token);
          api.revokeGrant(grant.grantId);
          return answer(200);
        },
      },
    ],
  });
}
