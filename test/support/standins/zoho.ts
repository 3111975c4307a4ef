/**
 * Zoho CRM (Zoho Accounts OAuth, multi data centre), as documented:
 * - https://zoho.com/accounts/protocol/oauth/multi-dc/client-authorization.html (location, accounts-server)
 * - https://www.zoho.com/crm/developer/docs/api/v8/multi-dc.html
 * - https://zoho.com/crm/developer/docs/api/v2/token-validity.html (invalid_code, "Access Denied")
 * - https://zoho.com/accounts/protocol/oauth/web-apps/access-token-expiry.html (20 refresh tokens, throttles)
 * - https://zoho.com/accounts/protocol/oauth/revoke-refresh-token.html
 *
 * Authorize always at accounts.zoho.com; the user's data centre answers the callback with
 * `location` and `accounts-server`, and the code (and every later token call) belongs to that
 * accounts server. Failures are HTTP 200 with an `error` field: `invalid_code` for a bad code or
 * a revoked refresh token, `Access Denied` when throttled (more than 10 access tokens per
 * refresh token in 10 minutes). A user keeps at most 20 refresh tokens per client: the 21st
 * deletes the oldest. Refresh tokens never expire and do not rotate. Revocation takes the token
 * in the query string.
 */
import { answer, checkAuthorizeRequest, isForm, registeredRedirect, STANDIN_APP, startStandIn, type StandIn, type StandInOptions } from './standin';

/** Zoho's data centres: `location` code → accounts server and API domain. */
export const ZOHO_DATA_CENTRES: Readonly<Record<string, { accounts: string; api: string }>> = {
  us: { accounts: 'accounts.zoho.com', api: 'www.zohoapis.com' },
  eu: { accounts: 'accounts.zoho.eu', api: 'www.zohoapis.eu' },
  in: { accounts: 'accounts.zoho.in', api: 'www.zohoapis.in' },
  au: { accounts: 'accounts.zoho.com.au', api: 'www.zohoapis.com.au' },
  jp: { accounts: 'accounts.zoho.jp', api: 'www.zohoapis.jp' },
  ca: { accounts: 'accounts.zohocloud.ca', api: 'www.zohoapis.ca' },
  sa: { accounts: 'accounts.zoho.sa', api: 'www.zohoapis.sa' },
  uk: { accounts: 'accounts.zoho.uk', api: 'www.zohoapis.uk' },
  cn: { accounts: 'accounts.zoho.com.cn', api: 'www.zohoapis.com.cn' },
};

const ACCESS_TOKENS_PER_WINDOW = 10;
const WINDOW_MS = 10 * 60_000;
const REFRESH_TOKENS_PER_USER = 20;

export interface ZohoStandIn extends StandIn {
  /** The data centre of the next user to consent. */
  setDataCentre(location: string): void;
}

export async function startZohoStandIn(options: StandInOptions & { location?: string; orgId?: string } = {}): Promise<ZohoStandIn> {
  const redirectUris = options.redirectUris ?? [registeredRedirect('zoho')];
  const app = options.app ?? STANDIN_APP;
  const clock = options.clock ?? Date.now;
  let location = options.location ?? 'eu';
  /** Refresh tokens of the (one) user, oldest first: the 21st deletes the oldest. */
  const userRefreshTokens: string[] = [];
  /** When each refresh token minted access tokens (throttle). */
  const mints = new Map<string, number[]>();
  const dataCentreHosts = Object.values(ZOHO_DATA_CENTRES).flatMap((dc) => [dc.accounts, dc.api]);

  let standIn: StandIn;
  standIn = await startStandIn('zoho', dataCentreHosts, options, {
    paths: { authorize: '/oauth/v2/auth', token: '/oauth/v2/token' },
    expiresIn: 3600,
    rotateRefreshTokens: 'omit',
    // Every failure is HTTP 200 with an `error` field.
    deadGrantBody: { error: 'invalid_code' },
    deadGrantStatus: 200,
    errors: {
      invalid_client: () => answer(200, { error: 'invalid_client' }),
      invalid_code: () => answer(200, { error: 'invalid_code' }),
      invalid_request: () => answer(200, { error: 'invalid_request' }),
    },
    checkTokenRequest(req, grant) {
      // Zoho's pages put the parameters in the query string; a form body works too (others' code: Nango, zcrmsdk).
      if (req.rawBody !== '' && !isForm(req)) return answer(200, { error: 'invalid_request' });
      if (grant === 'refresh_token' && typeof req.params['refresh_token'] === 'string') {
        const token = req.params['refresh_token'];
        const recent = (mints.get(token) ?? []).filter((at) => clock() - at < WINDOW_MS);
        if (recent.length >= ACCESS_TOKENS_PER_WINDOW) {
          return answer(200, { error_description: 'You have made too many requests continuously. Please try again after some time.', error: 'Access Denied', status: 'failure' });
        }
        mints.set(token, [...recent, clock()]);
      }
      return undefined;
    },
    consent(req) {
      const refused = checkAuthorizeRequest(req, app, redirectUris);
      if (refused) return refused;
      if (req.host !== 'accounts.zoho.com') return answer(400, '<h1>authorize at accounts.zoho.com</h1>', { 'content-type': 'text/html' });
      // Scopes are comma-separated; a refresh token only with access_type=offline.
      if (typeof req.params['scope'] !== 'string' || /\s/.test(req.params['scope'])) return answer(400, '<h1>Invalid OAuth Scope</h1>', { 'content-type': 'text/html' });
      const dc = ZOHO_DATA_CENTRES[location]!;
      return {
        refresh: req.params['access_type'] === 'offline',
        host: dc.accounts,
        extras: { api_domain: `https://${dc.api}`, _org: options.orgId ?? '20071956457' },
        callbackParams: { location, 'accounts-server': `https://${dc.accounts}` },
      };
    },
    shapeTokenResponse(body, grant) {
      const refreshToken = body['refresh_token'];
      if (grant === 'authorization_code' && typeof refreshToken === 'string') {
        userRefreshTokens.push(refreshToken);
        if (userRefreshTokens.length > REFRESH_TOKENS_PER_USER) {
          const oldest = userRefreshTokens.shift()!;
          const grantId = standIn.server.api.grantOf(oldest);
          if (grantId) standIn.server.api.revokeGrant(grantId);
        }
      }
      return body;
    },
    routes: [
      {
        // POST {accounts-server}/oauth/v2/token/revoke?token=<refresh token>
        method: 'POST',
        path: '/oauth/v2/token/revoke',
        revocation: true,
        handle(req, api) {
          const token = typeof req.query['token'] === 'string' ? req.query['token'] : undefined;
          const grant = api.refreshGrant(token);
          if (!token || !grant || grant.host !== req.host) return answer(400, { status: 'failure', error: 'invalid_token' });
          api.recordRevocation(token);
          api.revokeGrant(grant.grantId);
          return answer(200, { status: 'success' });
        },
      },
      {
        // GET {api_domain}/crm/v8/org, Authorization: Zoho-oauthtoken <token>
        method: 'GET',
        path: '/crm/v8/org',
        handle(req, api) {
          const match = /^Zoho-oauthtoken\s+(\S+)$/.exec(req.headers.authorization ?? '');
          const grant = api.accessGrant(match?.[1]);
          if (!grant) return answer(401, { code: 'INVALID_TOKEN', details: {}, message: 'invalid oauth token', status: 'error' });
          return answer(200, { org: [{ id: grant.extras['_org'], company_name: 'Acme GmbH', domain_name: 'org20071956457' }] });
        },
      },
    ],
  });
  return {
    ...standIn,
    setDataCentre(next) {
      location = next;
    },
  };
}
