/**
 * QuickBooks Online (Intuit OAuth 2.0), as Intuit documents it and its official SDK does it:
 * - https://github.com/intuit/oauth-jsclient src/OAuthClient.js (endpoints, Basic, JSON revoke)
 * - https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/faq
 * - https://blogs.a.intuit.com/2025/11/12/important-changes-to-refresh-token-policy
 *
 * The callback names the company only in its query (`realmId`). The token endpoint takes a
 * form body with HTTP Basic; its answer adds `x_refresh_token_expires_in` (the refresh token's
 * remaining life, a rolling 100 days). Refresh tokens rotate: "use the latest refresh_token
 * value from the most recent server response". Revocation is a JSON body `{"token": …}` with
 * HTTP Basic, and disconnects the app from the company. With `openid` the answer carries an
 * id_token (iss `https://oauth.platform.intuit.com/op/v1`, `aud` a list holding the client id)
 * signed with the keys at `https://oauth.platform.intuit.com/op/v1/jwks` (OAuthClient.js
 * validateIdToken); its `realmid` claim names the company (Intuit's discovery document lists
 * `realmid` in `claims_supported`). The SDK sends no nonce.
 */
import { answer, checkAuthorizeRequest, isForm, isJson, registeredRedirect, STANDIN_APP, startStandIn, type StandIn, type StandInOptions } from './standin';

const REFRESH_LIFETIME_S = 8_726_400; // ~101 days, as Intuit's responses show

export async function startQuickBooksStandIn(options: StandInOptions & { realmId?: string } = {}): Promise<StandIn & { setRealm(realmId: string): void }> {
  const redirectUris = options.redirectUris ?? [registeredRedirect('quickbooks')];
  const app = options.app ?? STANDIN_APP;
  let realmId = options.realmId ?? '9130357992221046';
  const standIn = await startStandIn(
    'quickbooks',
    ['appcenter.intuit.com', 'oauth.platform.intuit.com', 'developer.api.intuit.com'],
    options,
    {
      paths: { authorize: '/connect/oauth2', token: '/oauth2/v1/tokens/bearer', jwks: '/op/v1/jwks' },
      idTokens: {
        claims: ({ extras, scope, clientId }) =>
          (scope ?? '').split(' ').includes('openid')
            ? { iss: 'https://oauth.platform.intuit.com/op/v1', aud: [clientId], sub: 'c1a2b3c4-0000-4000-8000-00000000a11c', realmid: extras['_realmId'], auth_time: Math.floor((options.clock ?? Date.now)() / 1000) }
            : undefined,
      },
      expiresIn: 3600,
      rotateRefreshTokens: true,
      // The old refresh token's fate after rotation is undocumented: it dies here (inferred, the strict reading).
      reusedRefreshToken: 'dead',
      refreshIdleMs: REFRESH_LIFETIME_S * 1000,
      deadGrantBody: { error: 'invalid_grant' },
      errors: {
        invalid_client: () => answer(401, { error: 'invalid_client' }),
        invalid_code: () => answer(400, { error: 'invalid_grant' }),
      },
      checkTokenRequest(req) {
        if (!isForm(req)) return answer(400, { error: 'invalid_request' });
        // OAuthClient.js sends the client as HTTP Basic on every token call.
        if (req.clientAuth !== 'basic') return answer(401, { error: 'invalid_client' });
        return undefined;
      },
      consent(req) {
        const refused = checkAuthorizeRequest(req, app, redirectUris);
        if (refused) return refused;
        if (req.params['response_type'] !== 'code' || typeof req.params['scope'] !== 'string') {
          return answer(400, '<h1>invalid_request</h1>', { 'content-type': 'text/html' });
        }
        return { extras: { _realmId: realmId }, callbackParams: { realmId } };
      },
      shapeTokenResponse(body) {
        // Intuit spells the type in lower case and adds the refresh token's remaining life.
        return { ...body, token_type: 'bearer', ...(body['refresh_token'] !== undefined ? { x_refresh_token_expires_in: REFRESH_LIFETIME_S } : {}) };
      },
      routes: [
        {
          // POST https://developer.api.intuit.com/v2/oauth2/tokens/revoke, Basic, JSON {"token": <refresh or access token>}.
          method: 'POST',
          path: '/v2/oauth2/tokens/revoke',
          revocation: true,
          handle(req, api) {
            if (req.clientAuth !== 'basic' || req.clientId !== app.client_id) return answer(401, { error: 'invalid_client' });
            if (!isJson(req)) return answer(400, { error: 'invalid_request' });
            const token = typeof req.params['token'] === 'string' ? req.params['token'] : undefined;
            const grant = api.refreshGrant(token) ?? api.accessGrant(token);
            if (!token || !grant) return answer(400, { error: 'invalid_token' });
            api.recordRevocation(token);
            api.revokeGrant(grant.grantId);
            return answer(200);
          },
        },
      ],
    },
  );
  return {
    ...standIn,
    setRealm(next) {
      realmId = next;
    },
  };
}
