/**
 * The admin API's OpenAPI 3.1 document, as data: one operation per admin route of the routes
 * table (the compiler refuses a missing or an extra one), error codes from lib/errors.ts's
 * ERROR_STATUS, and the limits the code enforces (connection ids, provider keys, page sizes).
 * `npx tsx scripts/generate-openapi.ts` writes it to docs/openapi.json and derives the typed
 * client's types from it; the build ships it as `oauth-token-broker/openapi.json`.
 * test/integration/openapi.test.ts holds the real handlers' responses to it.
 *
 * Plain data and no runtime imports but the error table: nothing here runs in a Lambda.
 */
import { ERROR_STATUS, type BrokerErrorCode } from '../errors';
import { CONNECTION_ID_PATTERN } from '../model';
import type { AdminRouteKey } from './routes';

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const nullable = (type: string, extra: Schema = {}): Schema => ({ type: [type, 'null'], ...extra });
const dateTime = { type: 'string', format: 'date-time' } as const;
const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;

/** The connection id rule is lib/model.ts's own; kept equal to lib/providers/lookup.ts `PROVIDER_KEY_PATTERN` (the spec test checks it). */
export { CONNECTION_ID_PATTERN };
export const PROVIDER_KEY_PATTERN_SOURCE = '^[a-z0-9][a-z0-9-]{0,62}$';

const SCHEMAS: Record<string, Schema> = {
  ErrorCode: { type: 'string', enum: Object.keys(ERROR_STATUS), description: 'Stable error code; the HTTP status follows from it (lib/errors.ts).' },
  Error: {
    type: 'object',
    required: ['error'],
    additionalProperties: false,
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        additionalProperties: false,
        properties: {
          code: ref('ErrorCode'),
          message: { type: 'string', description: 'For people; never a token, code or secret.' },
          details: {
            type: 'object',
            description: 'Non-secret facts: the offending `parameter`, the provider\'s `provider_error`, `http_status`, `retry_after_s`…',
            additionalProperties: { type: ['string', 'number', 'boolean'] },
          },
        },
      },
    },
  },
  Forbidden: {
    type: 'object',
    description: 'API Gateway\'s answer to a request without a valid SigV4 signature or without execute-api:Invoke (deployed stacks only).',
    required: ['message'],
    properties: { message: { type: 'string' } },
  },
  ConnectionStatus: { type: 'string', enum: ['active', 'needs_reauth', 'revoked'] },
  AuthMode: { type: 'string', enum: ['OAUTH2', 'OAUTH2_CC'], description: 'OAUTH2: authorization code (+ refresh); OAUTH2_CC: client credentials.' },
  ProviderHealth: {
    type: 'object',
    description: "The provider's fleet-wide health: the circuit refreshes share (docs/design.md, provider health).",
    additionalProperties: false,
    required: ['circuit', 'failures', 'opened_at', 'next_probe_at', 'last_failure'],
    properties: {
      circuit: { type: 'string', enum: ['closed', 'open', 'half_open'], description: 'closed: refreshes call the provider; open: they do not; half_open: a probe is in flight or due.' },
      failures: { type: 'integer', minimum: 0 },
      opened_at: nullable('string', { format: 'date-time' }),
      next_probe_at: nullable('string', { format: 'date-time' }),
      last_failure: {
        oneOf: [
          { type: 'null' },
          {
            type: 'object',
            additionalProperties: false,
            required: ['code', 'provider_code', 'at'],
            properties: { code: { type: 'string' }, provider_code: nullable('string'), at: dateTime },
          },
        ],
      },
    },
  },
  ConnectionSummary: {
    type: 'object',
    description: 'What the broker knows about one connection: metadata only, never a token or secret.',
    additionalProperties: false,
    required: [
      'id',
      'provider',
      'auth_mode',
      'tenant',
      'tenants',
      'status',
      'scopes',
      'expires_at',
      'refresh_token_expires_at',
      'refresh_due_at',
      'last_refresh_at',
      'failure_count',
      'last_error',
      'metadata',
      'connection_config',
      'tags',
      'created_at',
      'updated_at',
    ],
    properties: {
      id: { type: 'string', pattern: CONNECTION_ID_PATTERN },
      provider: { type: 'string' },
      auth_mode: ref('AuthMode'),
      tenant: nullable('string', { description: 'The provider-side account (HubSpot hub id, HighLevel location…); with several, the first of `tenants`.' }),
      tenants: {
        type: 'array',
        items: { type: 'string' },
        description: "Every account the grant covers (Xero's organisations, sorted); `[tenant]` for a single-account grant, `[]` without a tenant.",
      },
      status: ref('ConnectionStatus'),
      scopes: { type: 'array', items: { type: 'string' }, description: 'Scopes the provider granted.' },
      expires_at: nullable('string', { format: 'date-time', description: 'When the stored access token expires.' }),
      refresh_token_expires_at: nullable('string', {
        format: 'date-time',
        description: 'When the refresh token dies unless used (its provider-given life or idle limit); null when not known.',
      }),
      refresh_due_at: nullable('string', { format: 'date-time', description: 'When the refresh scheduler next sends it to be refreshed; null when not scheduled (an on_demand provider, or nothing that expires).' }),
      last_refresh_at: nullable('string', { format: 'date-time' }),
      failure_count: { type: 'integer', minimum: 0 },
      last_error: {
        oneOf: [
          { type: 'null' },
          {
            type: 'object',
            additionalProperties: false,
            required: ['code', 'message', 'at'],
            properties: { code: { type: 'string' }, message: { type: 'string' }, providerCode: { type: 'string' }, at: nullable('string', { format: 'date-time' }) },
          },
        ],
      },
      metadata: stringMap,
      connection_config: stringMap,
      tags: { ...stringMap, description: 'The tags of the signed install link the connection was made through.' },
      provider_health: { ...ref('ProviderHealth'), description: "Its provider's health, on lists and on GET /connections/{id}." },
      created_at: nullable('string', { format: 'date-time', description: 'Null only when the stored value is no valid time (then in `invalid_fields`).' }),
      updated_at: nullable('string', { format: 'date-time', description: 'Null only when the stored value is no valid time (then in `invalid_fields`).' }),
      invalid_fields: {
        type: 'array',
        items: { type: 'string' },
        minItems: 1,
        description: 'Present when stored values could not be rendered (an expiry past what a date holds, stored before the lifetime bounds): those fields read null and are named here.',
      },
    },
  },
  ConnectionList: {
    type: 'object',
    additionalProperties: false,
    required: ['connections'],
    properties: {
      connections: { type: 'array', items: ref('ConnectionSummary') },
      unreadable: {
        type: 'array',
        minItems: 1,
        description: 'Items on this page that do not read as a connection: left out of `connections` and named here, so one bad item never breaks a list.',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'reason'],
          properties: { id: { type: 'string' }, reason: { type: 'string', description: 'What is wrong, naming the field, never its value.' } },
        },
      },
      cursor: { type: 'string', description: 'Opaque; pass it as `cursor` with the same filters for the next page. Absent on the last page.' },
    },
  },
  ConnectionResponse: { type: 'object', additionalProperties: false, required: ['connection'], properties: { connection: ref('ConnectionSummary') } },
  AccessToken: {
    type: 'object',
    additionalProperties: false,
    required: ['access_token', 'token_type', 'expires_at', 'scopes', 'provider', 'tenant', 'connection_id'],
    properties: {
      access_token: { type: 'string', description: 'Secret: send it to the provider only.' },
      token_type: { type: 'string' },
      expires_at: nullable('string', { format: 'date-time' }),
      scopes: { type: 'array', items: { type: 'string' } },
      provider: { type: 'string' },
      tenant: nullable('string'),
      connection_id: { type: 'string', pattern: CONNECTION_ID_PATTERN },
    },
  },
  TokenRequest: {
    type: 'object',
    additionalProperties: false,
    properties: { force_refresh: { type: 'boolean', description: 'Refresh now (the provider just answered 401), once fleet-wide.' } },
  },
  RegisterClientCredentialsRequest: {
    type: 'object',
    additionalProperties: false,
    required: ['provider'],
    properties: {
      provider: { type: 'string', pattern: PROVIDER_KEY_PATTERN_SOURCE, description: 'A client-credentials (OAUTH2_CC) provider.' },
      connection_config: { ...stringMap, description: "Values for the provider's `connection_config` parameters (GET /providers)." },
      credentials: {
        description: "Inline client credentials (sealed like tokens), or the name of a secret holding them; absent: the provider app's own secret.",
        oneOf: [
          { type: 'object', required: ['client_id', 'client_secret'], properties: { client_id: { type: 'string', minLength: 1 }, client_secret: { type: 'string', minLength: 1 } } },
          { type: 'object', required: ['secret_name'], properties: { secret_name: { type: 'string', minLength: 1 } } },
        ],
      },
    },
  },
  RevokeResult: {
    type: 'object',
    additionalProperties: false,
    required: ['connection', 'provider_revocation'],
    properties: {
      connection: ref('ConnectionSummary'),
      provider_revocation: {
        type: 'string',
        enum: ['revoked', 'not_supported', 'failed', 'already_revoked'],
        description: 'What the provider said; the connection is revoked here whatever it was. already_revoked: it was revoked before this call, nothing was sent.',
      },
      provider_error: { type: 'string' },
    },
  },
  InstallLinkRequest: {
    type: 'object',
    additionalProperties: false,
    required: ['provider'],
    description: 'The values the link is bound to; each is checked now (400, no link) and again when the link is opened.',
    properties: {
      provider: { type: 'string', pattern: PROVIDER_KEY_PATTERN_SOURCE, description: 'An authorization-code (OAUTH2) provider.' },
      connection_id: { type: 'string', pattern: CONNECTION_ID_PATTERN, description: 'The id the connection gets; only signed links choose ids.' },
      return_to: { type: 'string', format: 'uri', description: 'Where the customer lands after consent; its origin must be on the allowlist.' },
      connection_config: { ...stringMap, description: "Values for the provider's `connection_config` parameters." },
      scopes: { type: 'array', items: { type: 'string' }, description: "Within the provider's default and allowed scopes." },
      tags: { ...stringMap, maxProperties: 10, description: 'Your own labels, carried in the link.' },
      expires_in: { type: 'integer', minimum: 60, maximum: 604800, description: 'Seconds the link stays valid (default 24 h).' },
    },
  },
  InstallLink: {
    type: 'object',
    additionalProperties: false,
    required: ['url', 'expires_at'],
    properties: {
      url: { type: 'string', format: 'uri', description: "The link to hand the customer: reusable until it expires or a connection is stored through it." },
      expires_at: dateTime,
    },
  },
  ConnectionConfigField: {
    type: 'object',
    additionalProperties: false,
    required: ['title', 'description', 'optional', 'pattern', 'enum', 'format', 'default_value'],
    properties: {
      title: nullable('string'),
      description: nullable('string'),
      optional: { type: 'boolean' },
      pattern: nullable('string'),
      enum: { oneOf: [{ type: 'null' }, { type: 'array', items: { type: 'string' } }] },
      format: nullable('string'),
      default_value: nullable('string'),
    },
  },
  ProviderSummary: {
    type: 'object',
    additionalProperties: false,
    required: ['key', 'display_name', 'auth_mode', 'connect_with', 'default_scopes', 'allowed_scopes', 'connection_config', 'revocation', 'docs', 'health'],
    properties: {
      key: { type: 'string', pattern: PROVIDER_KEY_PATTERN_SOURCE },
      display_name: { type: 'string' },
      auth_mode: ref('AuthMode'),
      connect_with: {
        type: 'string',
        enum: ['install_link', 'register'],
        description: "install_link: the customer's browser consents; register: PUT /connections/{id} with client credentials.",
      },
      default_scopes: { type: 'array', items: { type: 'string' } },
      allowed_scopes: { type: 'array', items: { type: 'string' } },
      connection_config: { type: 'object', additionalProperties: ref('ConnectionConfigField') },
      revocation: { type: 'boolean', description: 'Whether revoking also revokes the grant at the provider.' },
      docs: nullable('string'),
      health: ref('ProviderHealth'),
    },
  },
  ProviderList: {
    type: 'object',
    additionalProperties: false,
    required: ['providers', 'skipped'],
    properties: {
      providers: { type: 'array', items: ref('ProviderSummary') },
      skipped: {
        type: 'array',
        description: 'Enabled catalogue entries the broker cannot serve, and why.',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['key', 'display_name', 'reason'],
          properties: { key: { type: 'string' }, display_name: nullable('string'), reason: { type: 'string' } },
        },
      },
    },
  },
};

/** Errors every admin operation may answer with, besides its own. */
const ANY_OPERATION: readonly BrokerErrorCode[] = ['unauthorized', 'internal_error', 'configuration_error'];
/** What a provider call can fail with (lib/errors.ts: 502, 503, 504). */
const PROVIDER_FAILURES: readonly BrokerErrorCode[] = ['provider_error', 'provider_unavailable', 'provider_timeout'];

const idParameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The connection id (percent-encoded in the path).',
  schema: { type: 'string', pattern: CONNECTION_ID_PATTERN },
};

interface OperationSpec {
  operationId: string;
  summary: string;
  description?: string;
  parameters?: Schema[];
  requestBody?: { schema: string; required?: boolean };
  success: { status: number; schema: string; description: string };
  /** The error codes this operation answers with, besides ANY_OPERATION's. */
  errors: readonly BrokerErrorCode[];
}

const OPERATIONS: Record<AdminRouteKey, OperationSpec> = {
  'GET /connections': {
    operationId: 'listConnections',
    summary: 'List connections, optionally narrowed by provider, status and tenant',
    description:
      'One page; follow `cursor` with the same filters for the next. Filtered lists are served by a query on an index (never a scan of the table), ' +
      'so a page may hold fewer than `limit` connections and still have a cursor. An unknown parameter or a malformed value is 400 `invalid_request` ' +
      'naming the parameter in `details.parameter`; nothing is listed.',
    parameters: [
      { name: 'provider', in: 'query', schema: { type: 'string', pattern: PROVIDER_KEY_PATTERN_SOURCE } },
      { name: 'status', in: 'query', schema: ref('ConnectionStatus') },
      {
        name: 'tenant',
        in: 'query',
        description: "The provider-side account id; only together with `provider` (an id means one account at one provider).",
        schema: { type: 'string', minLength: 1, maxLength: 256 },
      },
      { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
      { name: 'cursor', in: 'query', description: 'The `cursor` of the previous page of the same filters.', schema: { type: 'string' } },
    ],
    success: { status: 200, schema: 'ConnectionList', description: 'A page of connections' },
    errors: ['invalid_request'],
  },
  'GET /connections/{id}': {
    operationId: 'getConnection',
    summary: 'Describe one connection (metadata, last error, schedule)',
    parameters: [idParameter],
    success: { status: 200, schema: 'ConnectionResponse', description: 'The connection' },
    errors: ['invalid_request', 'connection_not_found', 'decrypt_failed'],
  },
  'POST /connections/{id}/token': {
    operationId: 'getToken',
    summary: "A valid access token for the connection (refreshed first when close to expiry, or with force_refresh)",
    parameters: [idParameter],
    requestBody: { schema: 'TokenRequest' },
    success: { status: 200, schema: 'AccessToken', description: 'The access token' },
    errors: ['invalid_request', 'connection_not_found', 'needs_reauth', 'connection_revoked', 'conflict', 'unknown_provider', 'provider_not_supported', 'provider_not_configured', 'decrypt_failed', ...PROVIDER_FAILURES],
  },
  'PUT /connections/{id}': {
    operationId: 'registerClientCredentials',
    summary: 'Register (or update) a client-credentials connection; its first token is fetched before anything is stored',
    parameters: [idParameter],
    requestBody: { schema: 'RegisterClientCredentialsRequest', required: true },
    success: { status: 200, schema: 'ConnectionResponse', description: 'The connection as stored' },
    errors: ['invalid_request', 'unknown_provider', 'provider_not_supported', 'provider_not_configured', 'conflict', 'decrypt_failed', ...PROVIDER_FAILURES],
  },
  'DELETE /connections/{id}': {
    operationId: 'revokeConnection',
    summary: 'Revoke a connection here, then at the provider where it supports revocation',
    parameters: [idParameter],
    success: { status: 200, schema: 'RevokeResult', description: 'The revoked connection and what the provider said' },
    errors: ['invalid_request', 'connection_not_found', 'conflict', 'decrypt_failed'],
  },
  'POST /install-links': {
    operationId: 'createInstallLink',
    summary: 'Mint a signed install link bound to a provider and, optionally, a connection id, return_to, connection_config, scopes and tags',
    requestBody: { schema: 'InstallLinkRequest', required: true },
    success: { status: 201, schema: 'InstallLink', description: 'The signed link' },
    errors: ['invalid_request', 'unknown_provider', 'provider_not_supported', 'return_to_not_allowed', 'scope_not_allowed'],
  },
  'GET /providers': {
    operationId: 'listProviders',
    summary: "The enabled providers' metadata (never a secret), and enabled entries the catalogue skipped",
    success: { status: 200, schema: 'ProviderList', description: 'The providers, by key' },
    errors: ['invalid_request'],
  },
};

/** The error responses of an operation: one per status, its `code` limited to the codes it can have there. */
function errorResponses(codes: readonly BrokerErrorCode[]): Record<string, Schema> {
  const byStatus = new Map<number, BrokerErrorCode[]>();
  for (const code of new Set([...codes, ...ANY_OPERATION])) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  const responses: Record<string, Schema> = {};
  for (const [status, atStatus] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: `Error: ${atStatus.join(', ')}`,
      content: {
        'application/json': {
          schema: { allOf: [ref('Error'), { type: 'object', properties: { error: { type: 'object', properties: { code: { enum: atStatus } } } } }] },
        },
      },
    };
  }
  responses['403'] = { description: 'Deployed stacks: the SigV4 signature is missing or wrong, or the caller lacks execute-api:Invoke', content: { 'application/json': { schema: ref('Forbidden') } } };
  return responses;
}

function operation(spec: OperationSpec): Schema {
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    ...(spec.parameters ? { parameters: spec.parameters } : {}),
    ...(spec.requestBody
      ? { requestBody: { required: spec.requestBody.required ?? false, content: { 'application/json': { schema: ref(spec.requestBody.schema) } } } }
      : {}),
    responses: {
      [String(spec.success.status)]: { description: spec.success.description, content: { 'application/json': { schema: ref(spec.success.schema) } } },
      ...errorResponses(spec.errors),
    },
  };
}

/** The OpenAPI 3.1 document of the admin API, for package version `version`. */
export function adminOpenApiDocument(version: string): Schema {
  const paths: Record<string, Record<string, Schema>> = {};
  for (const [key, spec] of Object.entries(OPERATIONS) as Array<[AdminRouteKey, OperationSpec]>) {
    const [method, path] = key.split(' ') as [string, string];
    paths[path] = { ...paths[path], [method.toLowerCase()]: operation(spec) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'oauth-token-broker admin API',
      version,
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      description:
        'The operator routes of an oauth-token-broker. On AWS every route needs a SigV4 signature (service `execute-api`) from an identity ' +
        'allowed execute-api:Invoke on the stack output AdminApiArn; locally (`npm start`), `Authorization: Bearer <admin key>`. ' +
        'Errors are `{"error":{"code","message","details?"}}` with a stable code (components.schemas.ErrorCode).',
    },
    servers: [
      { url: 'http://127.0.0.1:3000', description: 'The local broker (npm start)' },
      { url: '{apiUrl}', description: 'A deployed stack: its ApiUrl output', variables: { apiUrl: { default: 'https://abcdef1234.execute-api.eu-west-1.amazonaws.com' } } },
    ],
    security: [{ sigv4: [] }, { adminKey: [] }],
    paths,
    components: {
      schemas: SCHEMAS,
      securitySchemes: {
        sigv4: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'AWS Signature Version 4, service execute-api (deployed stacks).' },
        adminKey: { type: 'http', scheme: 'bearer', description: 'The local admin key (.data/admin.key, or BROKER_ADMIN_KEY).' },
      },
    },
  };
}
