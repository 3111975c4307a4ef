/**
 * Slack (OAuth v2, "Add to Slack"), as its documentation describes it:
 * - https://docs.slack.dev/authentication/installing-with-oauth
 * - https://docs.slack.dev/reference/methods/oauth.v2.access
 * - https://docs.slack.dev/authentication/using-token-rotation
 * - https://github.com/slackhq/slack-api-docs (the `ok`/`error` envelope; methods/auth.revoke.json)
 *
 * Web API failures are HTTP 200 `{"ok": false, "error": "<code>"}`. Without token rotation
 * the bot token never expires and no refresh token is issued; with rotation the access token
 * lasts 12 h and each refresh revokes the refresh token used. The tenant is the nested
 * `team.id` (`enterprise.id` for an org-wide Enterprise Grid install, where `team` is null).
 */
import { answer, checkAuthorizeRequest, credentialOf, isForm, isJson, registeredRedirect, STANDIN_APP, startStandIn, type StandIn, type StandInOptions } from './standin';

export interface SlackStandInOptions extends StandInOptions {
  /** The app opted in to token rotation ("Advanced token security via token rotation"). Default true. */
  rotation?: boolean;
  /** The workspace the installing user picks; default T0001 "Acme". */
  team?: { id: string; name: string };
  /** An org-wide Enterprise Grid install: `team` is null and the enterprise names the tenant. */
  enterprise?: { id: string; name: string };
}

/** Slack's error envelope: always HTTP 200. */
const slackError = (error: string) => answer(200, { ok: false, error });

export async function startSlackStandIn(options: SlackStandInOptions = {}): Promise<StandIn> {
  const rotation = options.rotation ?? true;
  const redirectUris = options.redirectUris ?? [registeredRedirect('slack')];
  const app = options.app ?? STANDIN_APP;
  return startStandIn('slack', ['slack.com'], options, {
    paths: { authorize: '/oauth/v2/authorize', token: '/api/oauth.v2.access' },
    // Token rotation: 12 h access tokens; without it tokens never expire and no refresh token comes.
    expiresIn: rotation ? 43_200 : null,
    rotateRefreshTokens: true,
    reusedRefreshToken: 'dead',
    // tooling.tokens.rotate documents `invalid_refresh_token`; the same code on oauth.v2.access is (inferred).
    deadGrantBody: { ok: false, error: 'invalid_refresh_token' },
    deadGrantStatus: 200,
    errors: {
      invalid_client: () => slackError('bad_client_secret'),
      invalid_code: () => slackError('invalid_code'),
      invalid_request: () => slackError('invalid_arguments'),
      unsupported_grant_type: () => slackError('invalid_grant_type'),
    },
    checkTokenRequest(req) {
      // oauth.v2.access takes application/x-www-form-urlencoded (or JSON) arguments.
      if (!isForm(req) && !isJson(req)) return slackError('invalid_form_data');
      return undefined;
    },
    consent(req) {
      const refused = checkAuthorizeRequest(req, app, redirectUris);
      if (refused) return refused;
      // Bot scopes are a comma-separated list (installing-with-oauth); a space is not a separator there (inferred: refused).
      if (typeof req.params['scope'] === 'string' && /\s/.test(req.params['scope'])) return answer(400, '<h1>invalid_scope</h1>', { 'content-type': 'text/html' });
      const enterprise = options.enterprise ?? null;
      return {
        refresh: rotation,
        extras: {
          ok: true,
          app_id: 'A0APP',
          bot_user_id: 'U0BOT',
          team: enterprise ? null : (options.team ?? { id: 'T0001', name: 'Acme' }),
          enterprise,
          is_enterprise_install: enterprise !== null,
          authed_user: { id: 'U0INSTALLER' },
        },
      };
    },
    shapeTokenResponse(body) {
      // The bot token's type is "bot" (OauthV2AccessResponse).
      return { ...body, token_type: 'bot' };
    },
    routes: [
      {
        // auth.revoke: the token to revoke is the caller's own (Authorization: Bearer, or a `token` argument).
        method: 'POST',
        path: '/api/auth.revoke',
        revocation: true,
        handle(req, api) {
          const presented = credentialOf(req) ?? (typeof req.params['token'] === 'string' ? req.params['token'] : undefined);
          const grant = api.accessGrant(presented);
          if (!presented || !grant) return slackError('invalid_auth');
          api.recordRevocation(presented);
          // Revoking the token uninstalls the grant: its refresh token is dead too (inferred).
          api.revokeGrant(grant.grantId);
          return answer(200, { ok: true, revoked: true });
        },
      },
      {
        // auth.test: who a token is; `invalid_auth` / `token_revoked` when it is dead.
        method: 'POST',
        path: '/api/auth.test',
        handle(req, api) {
          const grant = api.accessGrant(credentialOf(req));
          if (!grant) return slackError('invalid_auth');
          const team = grant.extras['team'] as { id: string; name: string } | null;
          return answer(200, { ok: true, team_id: team?.id ?? null, user_id: 'U0BOT', bot_id: 'B0BOT' });
        },
      },
    ],
  });
}
