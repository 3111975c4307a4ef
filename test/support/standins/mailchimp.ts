/**
 * Mailchimp (Marketing API OAuth 2), as documented:
 * - https://developer.mailchimp.com/documentation/mailchimp/guides/how-to-use-oauth2/
 * - requests/requests-oauthlib PR #169 and issue #509 (`expires_in: 0`, `scope: null`)
 *
 * No scopes and no refresh token: the token response is `{access_token, expires_in: 0,
 * scope: null}` and "we don't expire tokens". The account (and the data centre its API lives
 * in) is read afterwards from `GET https://login.mailchimp.com/oauth2/metadata` with
 * `Authorization: OAuth <token>`. There is no revocation endpoint; the user removes the app
 * from their account, after which the token is refused (`disconnect()` here).
 */
import { answer, checkAuthorizeRequest, credentialOf, isForm, registeredRedirect, STANDIN_APP, startStandIn, type StandIn, type StandInOptions } from './standin';

export interface MailchimpAccount {
  user_id: number;
  accountname: string;
  dc: string;
}

export async function startMailchimpStandIn(options: StandInOptions & { account?: MailchimpAccount } = {}): Promise<StandIn & { disconnect(): void }> {
  const redirectUris = options.redirectUris ?? [registeredRedirect('mailchimp')];
  const app = options.app ?? STANDIN_APP;
  const account = options.account ?? { user_id: 28_431_977, accountname: 'Acme Ltd', dc: 'us21' };
  const standIn = await startStandIn('mailchimp', ['login.mailchimp.com', /us\d+\.api\.mailchimp\.com/], options, {
    paths: { authorize: '/oauth2/authorize', token: '/oauth2/token' },
    // Tokens never expire; the answer still says expires_in 0 (shapeTokenResponse).
    expiresIn: null,
    errors: {
      invalid_client: () => answer(401, { error: 'invalid_client', error_description: 'Invalid client_id or client_secret' }),
      invalid_code: () => answer(400, { error: 'invalid_grant', error_description: 'Invalid authorization code' }),
    },
    checkTokenRequest(req) {
      if (!isForm(req)) return answer(400, { error: 'invalid_request' });
      return undefined;
    },
    consent(req) {
      const refused = checkAuthorizeRequest(req, app, redirectUris);
      if (refused) return refused;
      if (req.params['response_type'] !== 'code') return answer(400, '<h1>invalid_request</h1>', { 'content-type': 'text/html' });
      return { refresh: false, extras: { _account: account } };
    },
    shapeTokenResponse(body) {
      // Exactly three fields; no token_type.
      return { access_token: body['access_token'], expires_in: 0, scope: null };
    },
    routes: [
      {
        // The metadata endpoint authenticates with the `OAuth` scheme, not `Bearer`.
        method: 'GET',
        path: '/oauth2/metadata',
        handle(req, api) {
          const grant = api.accessGrant(credentialOf(req, 'OAuth'));
          if (!grant) return answer(401, { error: 'invalid_token', error_description: 'Invalid token' });
          const who = grant.extras['_account'] as MailchimpAccount;
          return answer(200, {
            dc: who.dc,
            role: 'owner',
            accountname: who.accountname,
            user_id: who.user_id,
            login: { email: 'owner@acme.example', avatar: null, login_id: 101, login_name: 'owner', login_email: 'owner@acme.example' },
            login_url: 'https://login.mailchimp.com',
            api_endpoint: `https://${who.dc}.api.mailchimp.com`,
          });
        },
      },
      {
        // GET /3.0/ping on the account's data centre: problem+json 401 for a dead token.
        method: 'GET',
        path: '/3.0/ping',
        handle(req, api) {
          if (!api.accessGrant(credentialOf(req))) {
            return answer(401, { type: 'https://mailchimp.com/developer/marketing/docs/errors/', title: 'API Key Invalid', status: 401, detail: 'Your API key may be invalid, or you\'ve attempted to access the wrong datacenter.', instance: '' }, { 'content-type': 'application/problem+json' });
          }
          return answer(200, { health_status: "Everything's Chimpy!" });
        },
      },
    ],
  });
  return {
    ...standIn,
    disconnect() {
      // The user removed the app from their account: every token of it is dead.
      standIn.server.api.revokeEveryGrant();
    },
  };
}
