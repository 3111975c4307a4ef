/**
 * Google (OAuth 2.0 for web server applications), as its documentation describes it:
 * - https://developers.google.com/identity/protocols/oauth2/web-server
 * - https://developers.google.com/identity/protocols/oauth2 (refresh token expiry)
 * - https://developers.google.com/identity/openid-connect/reference (RFC 9207 `iss` on the callback)
 *
 * A refresh token is issued only with `access_type=offline`, and only at the first consent
 * unless `prompt=consent` asks again. Refresh responses carry no refresh token (keep the one
 * you have). An unused refresh token dies after six months. Revocation takes `token` (access
 * or refresh) with no client authentication and ends the whole grant. With `openid` the answer
 * carries an id_token (iss `https://accounts.google.com`, `sub` the account, `hd` the Workspace
 * domain) signed with the keys at `https://www.googleapis.com/oauth2/v3/certs`
 * (https://developers.google.com/identity/openid-connect/openid-connect).
 */
import { answer, checkAuthorizeRequest, isForm, registeredRedirect, scopesOf, STANDIN_APP, startStandIn, type StandIn, type StandInOptions } from './standin';

export interface GoogleStandInOptions extends StandInOptions {
  /** The Google account that consents (`sub`), and its Workspace domain (`hd`). */
  account?: { sub: string; email: string; hd?: string };
  /** The id_token's `iss`: Google documents both `https://accounts.google.com` (default) and `accounts.google.com`. */
  idTokenIssuer?: string;
}

const DAY_MS = 24 * 3600_000;
const dead = { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' };

export interface GoogleStandIn extends StandIn {
  /** The Google account of the next consent. */
  setAccount(account: { sub: string; email: string; hd?: string }): void;
}

export async function startGoogleStandIn(options: GoogleStandInOptions = {}): Promise<GoogleStandIn> {
  const redirectUris = options.redirectUris ?? [registeredRedirect('google')];
  const app = options.app ?? STANDIN_APP;
  let account = options.account ?? { sub: '110248495921238986420', email: 'owner@acme.example', hd: 'acme.example' };
  /** Accounts that already consented to this app: without prompt=consent they get no new refresh token. */
  const consented = new Set<string>();
  const standIn = await startStandIn('google', ['accounts.google.com', 'oauth2.googleapis.com', 'www.googleapis.com'], options, {
    paths: { authorize: '/o/oauth2/v2/auth', token: '/token', jwks: '/oauth2/v3/certs' },
    idTokens: {
      claims: ({ extras, scope, clientId }) =>
        (scope ?? '').split(' ').includes('openid')
          ? { iss: options.idTokenIssuer ?? 'https://accounts.google.com', azp: clientId, sub: extras['_sub'], email: extras['_email'], email_verified: true, ...(extras['_hd'] ? { hd: extras['_hd'] } : {}) }
          : undefined,
    },
    expiresIn: 3599,
    // Refresh responses carry no refresh_token: keep the one you have.
    rotateRefreshTokens: 'omit',
    // "The refresh token has not been used for six months."
    refreshIdleMs: 183 * DAY_MS,
    deadGrantBody: dead,
    errors: {
      invalid_client: () => answer(401, { error: 'invalid_client', error_description: 'The OAuth client was not found.' }),
      invalid_code: () => answer(400, { error: 'invalid_grant', error_description: 'Bad Request' }),
    },
    checkTokenRequest(req) {
      if (!isForm(req)) return answer(400, { error: 'invalid_request', error_description: 'Invalid content type' });
      return undefined;
    },
    consent(req) {
      const refused = checkAuthorizeRequest(req, app, redirectUris);
      if (refused) return refused;
      if (req.params['response_type'] !== 'code') return answer(400, '<h1>Error 400: invalid_request (response_type)</h1>', { 'content-type': 'text/html' });
      const offline = req.params['access_type'] === 'offline';
      const first = !consented.has(account.sub);
      consented.add(account.sub);
      const scopes = scopesOf(req, ' ') ?? [];
      return {
        refresh: offline && (first || req.params['prompt'] === 'consent'),
        extras: { _sub: account.sub, _email: account.email, ...(account.hd ? { _hd: account.hd } : {}) },
        // RFC 9207: Google's discovery advertises authorization_response_iss_parameter_supported.
        callbackParams: { scope: scopes.join(' '), iss: 'https://accounts.google.com', authuser: '0', prompt: 'consent' },
      };
    },
    routes: [
      {
        // POST https://oauth2.googleapis.com/revoke, token in the form body (or the query), no client authentication.
        method: 'POST',
        path: '/revoke',
        revocation: true,
        handle(req, api) {
          const token = typeof req.params['token'] === 'string' ? req.params['token'] : undefined;
          const grant = api.accessGrant(token) ?? api.refreshGrant(token);
          if (!token || !grant) return answer(400, { error: 'invalid_token', error_description: 'Token expired or revoked' });
          api.recordRevocation(token);
          api.revokeGrant(grant.grantId);
          return answer(200, {});
        },
      },
    ],
  });
  return {
    ...standIn,
    setAccount(next) {
      account = next;
    },
  };
}
