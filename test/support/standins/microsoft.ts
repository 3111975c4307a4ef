/**
 * Microsoft Entra ID (identity platform v2), as its documentation describes it:
 * - https://github.com/MicrosoftDocs/entra-docs docs/identity-platform/v2-oauth2-auth-code-flow.md
 * - https://learn.microsoft.com/entra/identity-platform/refresh-tokens
 * - https://learn.microsoft.com/en-us/answers/questions/1338428 (AADSTS700082, 90 days inactive)
 *
 * Endpoints carry the authority in the path (`/organizations/oauth2/v2.0/token`). A refresh
 * token comes only with `offline_access`; each refresh returns a new one and "doesn't revoke
 * old refresh tokens"; an unused one dies after 90 days. Errors are 400 JSON with
 * `error`, an `AADSTS…` description, `error_codes`, `timestamp`, `trace_id`, `correlation_id`.
 * No revocation endpoint at the OAuth layer. With `openid` the answer carries an id_token signed
 * with the keys at `/{authority}/discovery/v2.0/keys`, whose issuer names the user's directory
 * (`https://login.microsoftonline.com/{tid}/v2.0`) and whose `tid` claim is that directory
 * (docs/identity-platform/v2-protocols-oidc.md, id-token-claims-reference.md).
 */
import { randomUUID } from 'node:crypto';
import { answer, checkAuthorizeRequest, isForm, missing, registeredRedirect, scopesOf, STANDIN_APP, startStandIn, type StandIn, type StandInOptions } from './standin';

export interface MicrosoftStandInOptions extends StandInOptions {
  /** The authority segment the app uses; default `organizations` (multitenant work/school apps). */
  authority?: string;
  /** The directory (tenant id) of the user who consents. */
  tenantId?: string;
}

export interface MicrosoftStandIn extends StandIn {
  /** The directory of the next user to consent (another customer's tenant). */
  setTenant(tenantId: string): void;
}

const DAY_MS = 24 * 3600_000;

/** An Entra error body: the OAuth code plus Microsoft's diagnostics. */
function entraError(error: string, aadsts: number, text: string, status = 400) {
  return answer(status, {
    error,
    error_description: `AADSTS${aadsts}: ${text} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: 2030-01-01 00:00:00Z`,
    error_codes: [aadsts],
    timestamp: '2030-01-01 00:00:00Z',
    trace_id: randomUUID(),
    correlation_id: randomUUID(),
  });
}

export async function startMicrosoftStandIn(options: MicrosoftStandInOptions = {}): Promise<MicrosoftStandIn> {
  const authority = options.authority ?? 'organizations';
  const redirectUris = options.redirectUris ?? [registeredRedirect('microsoft')];
  const app = options.app ?? STANDIN_APP;
  let tenantId = options.tenantId ?? '11111111-2222-3333-4444-555555555555';
  const standIn = await startStandIn('microsoft', ['login.microsoftonline.com'], options, {
    paths: { authorize: `/${authority}/oauth2/v2.0/authorize`, token: `/${authority}/oauth2/v2.0/token`, jwks: `/${authority}/discovery/v2.0/keys` },
    idTokens: {
      // An id_token only with `openid`; its issuer is the user's own directory.
      claims: ({ extras, scope }) => {
        if (!(scope ?? '').split(' ').includes('openid')) return undefined;
        const tid = extras['_tid'] as string;
        return { iss: `https://login.microsoftonline.com/${tid}/v2.0`, tid, sub: `pairwise-${tid.slice(0, 8)}`, oid: `00000000-0000-0000-0000-${tid.slice(-12)}`, ver: '2.0' };
      },
    },
    expiresIn: 3599,
    rotateRefreshTokens: true,
    // "The Microsoft identity platform doesn't revoke old refresh tokens" (refresh-tokens page).
    reusedRefreshToken: 'valid',
    // AADSTS700082: "The refresh token has expired due to inactivity … inactive for 90.00:00:00".
    refreshIdleMs: 90 * DAY_MS,
    deadGrantBody: entraError('invalid_grant', 700082, 'The refresh token has expired due to inactivity.').body,
    errors: {
      invalid_client: () => entraError('invalid_client', 7000215, 'Invalid client secret provided.', 401),
      invalid_code: () => entraError('invalid_grant', 70008, 'The provided authorization code or refresh token has expired due to inactivity.'),
      invalid_request: (d) => entraError('invalid_request', 900144, `The request body must contain the following parameter: ${d}.`),
      unsupported_grant_type: () => entraError('unsupported_grant_type', 70003, 'The app requested an unsupported grant type.'),
    },
    checkTokenRequest(req, grant) {
      // The token endpoint reads a form body only; anything else lacks every parameter.
      if (!isForm(req)) return entraError('invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.");
      const required = grant === 'authorization_code' ? ['client_id', 'code', 'redirect_uri'] : ['client_id', 'refresh_token'];
      const absent = missing(req, required);
      // client_id may come in the Basic header instead.
      const lacking = absent.filter((name) => !(name === 'client_id' && req.clientAuth === 'basic'));
      if (lacking.length > 0) return entraError('invalid_request', 900144, `The request body must contain the following parameter: '${lacking[0]}'.`);
      return undefined;
    },
    consent(req) {
      const refused = checkAuthorizeRequest(req, app, redirectUris);
      if (refused) return refused;
      if (req.params['response_type'] !== 'code') return answer(400, '<h1>AADSTS900144: response_type</h1>', { 'content-type': 'text/html' });
      const scopes = scopesOf(req, ' ') ?? [];
      // A refresh token only with offline_access (auth-code flow page).
      return { refresh: scopes.includes('offline_access'), extras: { ext_expires_in: 3599, _tid: tenantId } };
    },
  });
  return {
    ...standIn,
    setTenant(next) {
      tenantId = next;
    },
  };
}
