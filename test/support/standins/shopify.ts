/**
 * Shopify (authorization code grant for standalone apps, expiring offline tokens), as documented:
 * - https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant
 * - https://shopify.dev/docs/apps/build/security/credentials-and-data/use-expiring-offline-access-tokens
 * - https://shopify.dev/changelog/more-resilient-refreshes-for-expiring-offline-access-tokens
 * - https://shopify.dev/docs/apps/build/authentication-authorization/app-installation/uninstall-app-api-request
 * - Shopify/shopify-app-js packages/apps/shopify-api/lib/auth/oauth/{oauth.ts,refresh-token.ts}
 *
 * Every endpoint is on the shop's own host (`{shop}.myshopify.com`): a code or token of one shop
 * is worthless at another. The callback carries `code`, `hmac`, `host`, `shop`, `state` and
 * `timestamp`; `hmac` is HMAC-SHA256 (hex) of the sorted query without it, keyed with the
 * client secret. The exchange posts JSON `{client_id, client_secret, code}`; with `expiring=1`
 * the offline token lasts 60 minutes and comes with a refresh token (about 90 days) that rotates,
 * the previous one honoured "until an app begins using its replacement". Without it the token
 * never expires. No `token_type` in the answer; scopes are comma-separated. Revocation is an
 * uninstall: `DELETE /admin/api_permissions/current.json` with `X-Shopify-Access-Token`.
 */
import { createHmac } from 'node:crypto';
import { answer, checkAuthorizeRequest, isForm, isJson, registeredRedirect, STANDIN_APP, startStandIn, type StandIn, type StandInOptions } from './standin';

const DAY_MS = 24 * 3600_000;

/** Shopify's callback signature: HMAC-SHA256 hex over `k=v` pairs of the query without `hmac`, sorted, joined by `&`. */
export function shopifyHmac(query: URLSearchParams, secret: string): string {
  const message = [...query]
    .filter(([name]) => name !== 'hmac' && name !== 'signature')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  return createHmac('sha256', secret).update(message).digest('hex');
}

export async function startShopifyStandIn(options: StandInOptions = {}): Promise<StandIn> {
  const redirectUris = options.redirectUris ?? [registeredRedirect('shopify')];
  const app = options.app ?? STANDIN_APP;
  const clock = options.clock ?? Date.now;
  return startStandIn('shopify', [/[a-z0-9][a-z0-9-]*\.myshopify\.com/], options, {
    paths: { authorize: '/admin/oauth/authorize', token: '/admin/oauth/access_token' },
    hostBound: true,
    // The exchange body is {client_id, client_secret, code}: no redirect_uri (official library).
    ignoreRedirectUriAtExchange: true,
    expiresIn: 3600,
    rotateRefreshTokens: true,
    // Since 2026-08-28 the previous refresh token works "until an app begins using its replacement".
    reusedRefreshToken: 'until_new_used',
    refreshIdleMs: 90 * DAY_MS,
    deadGrantBody: { error: 'invalid_grant', error_description: 'The refresh token is invalid or has expired' },
    errors: {
      invalid_client: () => answer(400, { error: 'invalid_client', error_description: 'Client credentials are invalid' }),
      invalid_code: () => answer(400, { error: 'invalid_request', error_description: 'The authorization code was not found or was already used' }),
    },
    checkTokenRequest(req) {
      // The official library posts JSON; a form body also works (others' code).
      if (!isJson(req) && !isForm(req)) return answer(400, { error: 'invalid_request' });
      // Client credentials travel in the body (client_id, client_secret), never as Basic.
      if (req.clientAuth !== 'post') return answer(400, { error: 'invalid_client', error_description: 'Client credentials are invalid' });
      return undefined;
    },
    consent(req) {
      const refused = checkAuthorizeRequest(req, app, redirectUris);
      if (refused) return refused;
      // Scopes are comma-separated (authorization-code-grant page); spaces are refused here (inferred).
      if (typeof req.params['scope'] === 'string' && /\s/.test(req.params['scope'])) return answer(400, '<h1>Oauth error invalid_scope</h1>', { 'content-type': 'text/html' });
      const shop = req.host;
      return {
        extras: { _shop: shop },
        callbackParams: {
          host: Buffer.from(`admin.shopify.com/store/${shop.replace(/\.myshopify\.com$/, '')}`).toString('base64url'),
          shop,
          timestamp: String(Math.floor(clock() / 1000)),
        },
        finish(callback) {
          callback.searchParams.set('hmac', shopifyHmac(callback.searchParams, app.client_secret));
        },
      };
    },
    shapeTokenResponse(body, grant, req) {
      const { token_type: _omitted, ...rest } = body;
      const scope = typeof rest['scope'] === 'string' ? rest['scope'] : undefined;
      const expiring = req?.params['expiring'] === '1' || req?.params['expiring'] === 1 || grant === 'refresh_token';
      if (!expiring) {
        // A non-expiring offline token (legacy): no lifetime, no refresh token.
        const { expires_in: _e, refresh_token: _r, ...permanent } = rest;
        return { ...permanent, ...(scope ? { scope } : {}) };
      }
      return { ...rest, refresh_token_expires_in: 90 * 24 * 3600 };
    },
    routes: [
      {
        // The uninstall: the token authenticates itself in X-Shopify-Access-Token; irreversible.
        method: 'DELETE',
        path: '/admin/api_permissions/current.json',
        revocation: true,
        handle(req, api) {
          const token = req.headers['x-shopify-access-token'];
          const grant = typeof token === 'string' ? api.accessGrant(token) : undefined;
          if (typeof token !== 'string' || !grant || grant.host !== req.host) {
            return answer(401, { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' });
          }
          api.recordRevocation(token);
          api.revokeGrant(grant.grantId);
          return answer(200, {});
        },
      },
    ],
  });
}
