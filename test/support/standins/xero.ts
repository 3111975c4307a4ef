/**
 * Xero (OAuth 2.0 + OpenID Connect, one grant for several organisations), as documented:
 * - https://developer.xero.com/faq/oauth2 (60-day idle refresh tokens, 30-minute reuse grace, 30-minute access tokens)
 * - https://github.com/XeroAPI/Xero-OpenAPI xero-identity.yaml (GET/DELETE /connections)
 * - https://github.com/XeroAPI/xero-node/releases/tag/4.10.1 (revocation removes all connections)
 *
 * The token endpoint takes a form body with HTTP Basic client authentication. The user may
 * tick several organisations on one consent screen; the token response names none of them:
 * `GET https://api.xero.com/connections` (Bearer) lists the tenants the user connected to the
 * app, each with the `authEventId` of the consent that connected it. Access tokens are JWTs
 * whose `authentication_event_id` claim is that id (inferred from others' code: Nango's Xero
 * post-connection script filters `/connections` by it).
 */
import { randomUUID } from 'node:crypto';
import { answer, checkAuthorizeRequest, credentialOf, isForm, registeredRedirect, scopesOf, STANDIN_APP, startStandIn, type StandIn, type StandInOptions } from './standin';

export interface XeroOrganisation {
  tenantId: string;
  tenantName: string;
  tenantType?: 'ORGANISATION' | 'PRACTICE';
}

export interface XeroStandIn extends StandIn {
  /** What the next consent ticks (default: the one organisation it was started with). */
  pickOrganisations(organisations: XeroOrganisation[]): void;
  /** The user's connections as /connections would list them. */
  connections(): ReadonlyArray<XeroConnection>;
}

interface XeroConnection {
  id: string;
  authEventId: string;
  tenantId: string;
  tenantType: string;
  tenantName: string;
  createdDateUtc: string;
  updatedDateUtc: string;
}

const DAY_MS = 24 * 3600_000;

/** A JWT-shaped access token; nobody here checks its signature (the broker reads one claim of a token the token response carried). */
function xeroAccessToken(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT', kid: 'xero-standin' })}.${part(claims)}.${randomUUID().replaceAll('-', '')}`;
}

export async function startXeroStandIn(options: StandInOptions & { organisations?: XeroOrganisation[] } = {}): Promise<XeroStandIn> {
  const redirectUris = options.redirectUris ?? [registeredRedirect('xero')];
  const app = options.app ?? STANDIN_APP;
  let picked: XeroOrganisation[] = options.organisations ?? [{ tenantId: 'a3a4dbaf-3495-4c0b-a2b5-6d7d0c2c0001', tenantName: 'Demo Company (UK)' }];
  /** One user here: every consent connects (or re-connects) organisations to the app for that user. */
  const connections: XeroConnection[] = [];

  const standIn = await startStandIn('xero', ['login.xero.com', 'identity.xero.com', 'api.xero.com'], options, {
    paths: { authorize: '/identity/connect/authorize', token: '/connect/token' },
    mintAccessToken: ({ extras, clientId }) => xeroAccessToken({ authentication_event_id: extras['_authEventId'], client_id: clientId, xero_userid: 'f0e1d2c3-0000-4000-8000-00000000005e', jti: randomUUID() }),
    expiresIn: 1800,
    rotateRefreshTokens: true,
    // "you can retry with the previous refresh token for a grace period of 30 minutes" (FAQ).
    reusedRefreshToken: { graceMs: 30 * 60_000 },
    // "Unused refresh tokens expire after 60 days" (FAQ).
    refreshIdleMs: 60 * DAY_MS,
    deadGrantBody: { error: 'invalid_grant' },
    errors: {
      invalid_client: () => answer(400, { error: 'invalid_client' }),
      invalid_code: () => answer(400, { error: 'invalid_grant' }),
    },
    checkTokenRequest(req) {
      if (!isForm(req)) return answer(400, { error: 'invalid_request' });
      // Xero's token endpoint authenticates the client with HTTP Basic (auth-flow docs, xero-node).
      if (req.clientAuth !== 'basic') return answer(400, { error: 'invalid_client' });
      return undefined;
    },
    consent(req) {
      const refused = checkAuthorizeRequest(req, app, redirectUris);
      if (refused) return refused;
      if (req.params['response_type'] !== 'code') return answer(400, '<h1>unsupported_response_type</h1>', { 'content-type': 'text/html' });
      const authEventId = randomUUID();
      const now = new Date((options.clock ?? Date.now)()).toISOString();
      for (const organisation of picked) {
        const existing = connections.find((c) => c.tenantId === organisation.tenantId);
        if (existing) Object.assign(existing, { authEventId, updatedDateUtc: now });
        else connections.push({ id: randomUUID(), authEventId, tenantId: organisation.tenantId, tenantType: organisation.tenantType ?? 'ORGANISATION', tenantName: organisation.tenantName, createdDateUtc: now, updatedDateUtc: now });
      }
      return { refresh: (scopesOf(req, ' ') ?? []).includes('offline_access'), extras: { _authEventId: authEventId } };
    },
    routes: [
      {
        // GET /connections (optionally ?authEventId=): the tenants this user connected to the app.
        method: 'GET',
        path: '/connections',
        handle(req, api) {
          if (!api.accessGrant(credentialOf(req))) return answer(401, { Type: null, Title: 'Unauthorized', Status: 401, Detail: 'AuthenticationUnsuccessful' });
          const event = typeof req.params['authEventId'] === 'string' ? req.params['authEventId'] : undefined;
          return answer(200, connections.filter((c) => event === undefined || c.authEventId === event));
        },
      },
      {
        // POST /connect/revocation, Basic, form token=<refresh token>: "revokes a user's refresh token and removes all their connections".
        method: 'POST',
        path: '/connect/revocation',
        revocation: true,
        handle(req, api) {
          if (req.clientAuth !== 'basic' || req.clientId !== app.client_id) return answer(400, { error: 'invalid_client' });
          const token = typeof req.params['token'] === 'string' ? req.params['token'] : undefined;
          const grant = api.refreshGrant(token) ?? api.accessGrant(token);
          if (token && grant) {
            api.recordRevocation(token);
            api.revokeGrant(grant.grantId);
            connections.length = 0;
          }
          // RFC 7009 §2.2: an unknown token is not an error.
          return answer(200);
        },
      },
    ],
  });
  return {
    ...standIn,
    pickOrganisations(organisations) {
      picked = organisations;
    },
    connections: () => connections,
  };
}
