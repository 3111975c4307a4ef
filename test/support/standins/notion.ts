/**
 * Notion (public integrations), as documented:
 * - https://developers.notion.com/reference/create-a-token
 * - https://developers.notion.com/reference/refresh-a-token
 * - https://developers.notion.com/reference/revoke-token
 * - https://developers.notion.com/reference/introspect-token
 * - https://developers.notion.com/reference/status-codes
 *
 * The token endpoint takes HTTP Basic and a JSON body. The answer names the workspace
 * (`workspace_id`, `workspace_name`, `bot_id`, `owner`) and has no `expires_in`. A refresh
 * "generat[es] a new access token and new refresh token". Errors carry their code in `code`:
 * `{"object":"error","status":400,"code":"invalid_grant","message":…}`. Revocation and
 * introspection take JSON `{token}` with Basic and a `Notion-Version` header.
 */
import { answer, checkAuthorizeRequest, isJson, registeredRedirect, STANDIN_APP, startStandIn, type StandIn, type StandInOptions } from './standin';

const notionError = (status: number, code: string, message: string) => answer(status, { object: 'error', status, code, message, request_id: 'c1a2b3d4-0000-4000-8000-000000000000' });

export interface NotionWorkspace {
  workspace_id: string;
  workspace_name: string;
  bot_id: string;
}

export async function startNotionStandIn(options: StandInOptions & { workspace?: NotionWorkspace } = {}): Promise<StandIn> {
  const redirectUris = options.redirectUris ?? [registeredRedirect('notion')];
  const app = options.app ?? STANDIN_APP;
  const workspace = options.workspace ?? { workspace_id: '6a1b1c2d-3e4f-4a5b-8c7d-9e0f1a2b3c4d', workspace_name: "Acme's Notion", bot_id: 'b0b0b0b0-1111-4222-8333-444455556666' };
  /** Revoke and introspect are API endpoints: they want a Notion-Version header (inferred from the API's rule). */
  const versioned = (headers: Record<string, unknown>) => typeof headers['notion-version'] === 'string';
  return startStandIn('notion', ['api.notion.com'], options, {
    paths: { authorize: '/v1/oauth/authorize', token: '/v1/oauth/token' },
    expiresIn: null,
    rotateRefreshTokens: true,
    reusedRefreshToken: 'dead',
    deadGrantBody: notionError(400, 'invalid_grant', 'Invalid refresh token.').body,
    errors: {
      invalid_client: () => notionError(401, 'invalid_client', 'Invalid client.'),
      invalid_code: () => notionError(400, 'invalid_grant', 'Invalid code.'),
      invalid_request: (d) => notionError(400, 'invalid_request', d),
      unsupported_grant_type: () => notionError(400, 'unsupported_grant_type', 'Unsupported grant type.'),
    },
    checkTokenRequest(req) {
      if (req.clientAuth !== 'basic') return notionError(401, 'invalid_client', 'Client authentication must use HTTP Basic.');
      if (!isJson(req)) return notionError(400, 'invalid_request', 'Body must be JSON.');
      return undefined;
    },
    consent(req) {
      const refused = checkAuthorizeRequest(req, app, redirectUris);
      if (refused) return refused;
      if (req.params['response_type'] !== 'code' || req.params['owner'] !== 'user') return answer(400, '<h1>Invalid authorization request</h1>', { 'content-type': 'text/html' });
      return {
        extras: {
          ...workspace,
          workspace_icon: null,
          owner: { type: 'user', user: { object: 'user', id: 'u0u0u0u0-0000-4000-8000-000000000001' } },
          duplicated_template_id: null,
          request_id: 'c1a2b3d4-0000-4000-8000-000000000001',
        },
      };
    },
    shapeTokenResponse(body) {
      return { ...body, token_type: 'bearer' };
    },
    routes: [
      {
        method: 'POST',
        path: '/v1/oauth/revoke',
        revocation: true,
        handle(req, api) {
          if (req.clientAuth !== 'basic' || req.clientId !== app.client_id) return notionError(401, 'unauthorized', 'API token is invalid.');
          if (!versioned(req.headers)) return notionError(400, 'missing_version', 'Notion-Version header failed validation.');
          if (!isJson(req)) return notionError(400, 'invalid_request', 'Body must be JSON.');
          const token = typeof req.params['token'] === 'string' ? req.params['token'] : undefined;
          const grant = api.accessGrant(token) ?? api.refreshGrant(token);
          if (!token || !grant) return notionError(400, 'invalid_request', 'Invalid token.');
          api.recordRevocation(token);
          api.revokeGrant(grant.grantId);
          return answer(200, { request_id: 'c1a2b3d4-0000-4000-8000-000000000002' });
        },
      },
      {
        method: 'POST',
        path: '/v1/oauth/introspect',
        handle(req, api) {
          if (req.clientAuth !== 'basic' || req.clientId !== app.client_id) return notionError(401, 'unauthorized', 'API token is invalid.');
          const token = typeof req.params['token'] === 'string' ? req.params['token'] : undefined;
          const grant = api.accessGrant(token) ?? api.refreshGrant(token);
          return answer(200, grant ? { active: true, scope: 'read_content update_content insert_content', iat: Math.floor(api.now() / 1000) } : { active: false });
        },
      },
    ],
  });
}
