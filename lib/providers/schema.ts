/**
 * The provider catalogue schema: ONE schema for both formats. Field names follow Nango's
 * `providers.yaml` where the meaning is the same (auth_mode, authorization_url, token_url,
 * authorization_params, token_params, refresh_params, scope_separator, default_scopes,
 * disable_pkce, token_request_auth_method, body_format, token_response_metadata,
 * connection_config). Nango-only fields are mapped onto these by `nango.ts` before this
 * schema sees an entry, so a pasted Nango entry and a native one are validated alike.
 * Everything a provider does differently is a field here; the code never branches on a
 * provider's name.
 *
 * URL fields may contain `${connectionConfig.<key>}` placeholders, filled from
 * the connection's `connection_config` (e.g. Marketo's identity URL).
 */
import { z } from 'zod';
import { DEFAULT_ERROR_CODE_PATHS, RESPONSE_PATH_PATTERN } from './response-path';
import { catalogueUrlAllowed } from './secure-url';

const PLAIN_HTTP = 'must be https (plain http only to localhost or 127.0.0.1: a secret or a token would cross the network in clear)';

// A template may also start with a placeholder that stands for a whole base URL (Marketo's
// per-instance `${connectionConfig.identity_url}/oauth/token`); template.ts checks that value at use.
const url = z
  .string()
  .regex(/^(?:https?:\/\/|\$\{connectionConfig\.[A-Za-z0-9_-]+\})\S+$/, 'must be an http(s) URL (placeholders like ${connectionConfig.x} allowed)')
  .refine(catalogueUrlAllowed, PLAIN_HTTP);
const stringMap = z.record(z.string(), z.string());
/** A path into a JSON answer: `hub_id`, `team.id`, `errors[0].code` (response-path.ts). */
const responsePath = z.string().regex(RESPONSE_PATH_PATTERN, 'must be a path like name, a.b or a[0].b');

export const revocationSchema = z.strictObject({
  /** Endpoint; may contain `${token}` when the provider wants the token in the path (HubSpot). */
  url,
  method: z.enum(['POST', 'DELETE']).default('POST'),
  /** Which token to revoke. */
  token: z.enum(['refresh_token', 'access_token']).default('refresh_token'),
  /**
   * Where the token goes: the body field `token` (RFC 7009), the URL path (`${token}`), the query
   * string `?token=` (Zoho), or nowhere: the call authenticates with the access token and revokes
   * that very token (Slack `auth.revoke`, Zendesk `tokens/current`, Shopify's uninstall).
   */
  token_in: z.enum(['body', 'path', 'query', 'none']).default('body'),
  /** Encoding of a body: form (RFC 7009) or JSON (QuickBooks, Notion). */
  body_format: z.enum(['form', 'json']).default('form'),
  /**
   * How the broker authenticates the revoke call: client id and secret in the body, HTTP Basic,
   * `Authorization: Bearer <access token>`, the bare access token in the header named by
   * `auth_header` (Shopify `X-Shopify-Access-Token`), or not at all.
   */
  auth: z.enum(['client_secret_post', 'basic', 'bearer_access_token', 'access_token_header', 'none']).default('client_secret_post'),
  /** The header that carries the access token when `auth` is `access_token_header`. */
  auth_header: z.string().regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name').optional(),
  /** Extra headers on the revoke call (Notion `Notion-Version`); values may use `${connectionConfig.x}`. */
  headers: z.record(z.string(), z.string()).default({}),
  /** Sends `token_type_hint` (RFC 7009 §2.1). */
  send_token_type_hint: z.boolean().default(true),
});

/**
 * Who the authorization server is, and how to check what it says (RFC 9207 `iss` on the
 * callback; OpenID Connect's `id_token`). Checked in lib/oauth/issuer.ts and lib/oauth/id-token.ts.
 */
export const oidcSchema = z.strictObject({
  /**
   * The issuer identifier, compared exactly. `{name}` stands for the id_token's own claim
   * `name` (Microsoft's multi-tenant issuer `https://login.microsoftonline.com/{tid}/v2.0`).
   */
  issuer: z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL').refine(catalogueUrlAllowed, PLAIN_HTTP),
  /**
   * Other values the id_token's `iss` may take for this same issuer (Google documents both
   * `https://accounts.google.com` and `accounts.google.com`). The RFC 9207 callback check and
   * discovery still use `issuer`.
   */
  issuer_aliases: z.array(z.string().min(1)).default([]),
  /** The signing keys; absent = read `jwks_uri` from `${issuer}/.well-known/openid-configuration`. */
  jwks_uri: z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL').refine(catalogueUrlAllowed, PLAIN_HTTP).optional(),
  /** The id_token claim naming the provider-side account (`sub`, `tid`, `realmid`): the connection's tenant when the token response names none. */
  tenant_claim: z.string().optional(),
  /** Send a `nonce` (derived from the state, never stored) and require it back in the id_token. */
  nonce: z.boolean().default(true),
  /** `required`: a token response without an id_token is refused; `optional`: validated when present. */
  id_token: z.enum(['required', 'optional']).default('required'),
  /** RFC 9207: `required` refuses a callback without `iss`; `optional` checks it when present. */
  authorization_response_iss: z.enum(['required', 'optional']).default('optional'),
  /** Claims of the validated id_token kept as connection metadata, under their own names (Google `hd`, the Workspace domain). */
  metadata_claims: z.array(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a claim name')).default([]),
});

/**
 * A call to the provider right after the code exchange, authenticated with the new access
 * token, that names the account the grant belongs to (Mailchimp's metadata endpoint, Pipedrive's
 * `users/me`, Zoho's organization, Xero's `/connections`). It is sent like a token request (no
 * redirects, the broker's timeout, nothing secret in an error) and its URL obeys the same host
 * rule; an answer that names no account refuses the install and revokes the grant.
 */
export const tenantRequestSchema = z.strictObject({
  /** Where to ask; may use `${connectionConfig.x}` (Pipedrive's and Zoho's `api_domain` from the token response). */
  url,
  method: z.enum(['GET', 'POST']).default('GET'),
  /** `Authorization: <scheme> <access token>`: `Bearer`, Mailchimp `OAuth`, Zoho `Zoho-oauthtoken`. */
  auth_scheme: z.string().regex(/^[A-Za-z][A-Za-z0-9._-]{0,31}$/, 'must be an HTTP authorization scheme').default('Bearer'),
  /** Extra headers; values may use `${connectionConfig.x}`. */
  headers: stringMap.default({}),
  /**
   * Where the answer lists the accounts, one tenant per item (`$` = the answer itself is the
   * list: Xero's `/connections`). Absent: the answer names one account at `tenant_path`.
   */
  list_path: responsePath.optional(),
  /** The account id: in the answer (`user_id`, `data.company_id`, `org[0].id`), or in each listed item (`tenantId`). */
  tenant_path: responsePath,
  /**
   * Listed items kept only when each named field equals a value: a literal, or
   * `{access_token_claim: name}`, a claim of the new access token (a JWT the token response
   * carried): Xero's `authEventId` = `authentication_event_id`, the organisations this consent
   * connected.
   */
  filter: z.record(z.string().regex(RESPONSE_PATH_PATTERN, 'must be a path like name or a.b'), z.union([z.string(), z.strictObject({ access_token_claim: z.string().min(1) })])).default({}),
  /** Answer fields kept as connection metadata: paths in the answer, or, with `list_path`, in each item (kept as `<tenant>.<path>`). */
  metadata: z.array(responsePath).default([]),
});

export const connectionConfigFieldSchema = z.strictObject({
  type: z.literal('string').default('string'),
  title: z.string().optional(),
  description: z.string().optional(),
  /** Regular expression the value must match. */
  pattern: z.string().optional(),
  /** The only values accepted (Nango `enum`). */
  enum: z.array(z.string()).min(1).optional(),
  /** A well-known shape the value must have (Nango `format`). */
  format: z.enum(['hostname', 'uri', 'uuid', 'email']).optional(),
  /** Used when the connection gives no value (Nango `default_value`). */
  default_value: z.string().optional(),
  optional: z.boolean().default(false),
  /**
   * The value comes from the provider's token response at this path (Salesforce `instance_url`,
   * Zoho and Pipedrive `api_domain`), on the code exchange and again on each refresh that carries
   * it; it is checked like any other value (`pattern`, `format`, `enum`) and nobody else may set it.
   */
  token_response_path: responsePath.optional(),
  /**
   * The value comes from this parameter of the provider's redirect back to the callback (Zoho's
   * `accounts-server`, the data centre that issued the code). The person can edit that query, so
   * the parameter must declare an `enum` or `pattern` of the provider's own hosts: a value outside
   * it refuses the callback before anything is sent. Nobody else may set it.
   */
  callback_param: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a query parameter name').optional(),
});

export const providerSchema = z.strictObject({
  display_name: z.string().min(1),
  /** OAUTH2: authorization code (+ refresh). OAUTH2_CC: client credentials (two-legged). */
  auth_mode: z.enum(['OAUTH2', 'OAUTH2_CC']),
  /** Inherit every field of another provider and override some (white labels). */
  extends: z.string().optional(),
  docs: z.string().optional(),
  authorization_url: url.optional(),
  token_url: url,
  /** Defaults to token_url. */
  refresh_url: url.optional(),
  authorization_params: stringMap.default({}),
  /** Extra parameters on the code exchange (and client-credentials) request. */
  token_params: stringMap.default({}),
  /** Extra parameters on the refresh request. */
  refresh_params: stringMap.default({}),
  /** Extra HTTP headers on token and refresh requests (e.g. HighLevel `Version`). */
  token_headers: stringMap.default({}),
  scope_separator: z.string().default(' '),
  /** Scopes an install asks for when it names none. */
  default_scopes: z.array(z.string()).default([]),
  /** Name of the authorize parameter for optional scopes (HubSpot: `optional_scope`); absent = the provider has none. */
  optional_scope_param: z.string().optional(),
  default_optional_scopes: z.array(z.string()).default([]),
  /**
   * Scopes an install may ask for besides the defaults (the operator's allow-list for scopes
   * chosen at install time; `resolveInstallScopes` in scopes.ts enforces it).
   */
  allowed_scopes: z.array(z.string()).default([]),
  /**
   * Where the token response lists the granted scopes: a space/comma separated string or a list
   * (RFC 6749 `scope`; HubSpot's `scopes` array includes the optional scopes actually granted).
   */
  granted_scopes_path: responsePath.default('scope'),
  disable_pkce: z.boolean().default(false),
  /** How the client authenticates at the token endpoint. */
  token_request_auth_method: z.enum(['client_secret_post', 'basic']).default('client_secret_post'),
  /** Encoding of the token request: form (RFC 6749), json (RD Station), or query string (Marketo GET). */
  body_format: z.enum(['form', 'json', 'query']).default('form'),
  token_request_method: z.enum(['POST', 'GET']).default('POST'),
  /** RD Station: the token endpoint takes no `grant_type`, it infers it from `code` / `refresh_token`. */
  omit_grant_type: z.boolean().default(false),
  /**
   * Token-response fields to keep as connection metadata (not secret: ids, user type...), as paths
   * (`team.id`); kept under the path as written, numbers and booleans as strings.
   */
  token_response_metadata: z.array(responsePath).default([]),
  /** Metadata fields that identify the provider-side account, first present wins (HighLevel locationId, then companyId). */
  tenant_fields: z.array(z.string()).default([]),
  /**
   * The account id is part of the `tenant_fields` value: the first capture group of this pattern,
   * matched against the whole value (Salesforce's org id in `https://login.salesforce.com/id/{org}/{user}`).
   * A value that does not match names no account.
   */
  tenant_pattern: z.string().optional(),
  /**
   * The account is this connection value, which sits in the host of `token_url` (Shopify `shop`,
   * Zendesk `subdomain`): the code was redeemed at that host, so the exchange proves the account.
   */
  tenant_connection_config: z.string().optional(),
  /** An authenticated call after the exchange that names the account (see `tenantRequestSchema`). */
  tenant_request: tenantRequestSchema.optional(),
  /**
   * Parameters of the provider's redirect back to the callback kept as metadata under
   * `callback.<name>` (QuickBooks `realmId`). The person can edit them: they are recorded, and
   * never decide which connection a grant belongs to.
   */
  callback_metadata: z.array(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a query parameter name')).default([]),
  /**
   * Seconds before expiry at which this provider's access token counts as used up (Nango
   * `token_expiration_buffer`). Revocation refreshes an access token this close to expiry before
   * authenticating with it; absent = 60 s.
   */
  refresh_skew_s: z.number().nonnegative().optional(),
  /**
   * How this provider's connections are kept fresh (refresh-policy.ts `RefreshMode`): `eager` refreshes
   * every token ahead of expiry; `on_demand` only when `getToken` needs it (refresh tokens that never
   * expire: HubSpot); `keep_alive` on demand plus at least every `keep_alive_s` (refresh tokens that die
   * unused: HighLevel's after a year). An operator may override it per deployment.
   */
  refresh_policy: z.enum(['eager', 'on_demand', 'keep_alive']).default('eager'),
  /** With `refresh_policy: keep_alive`: the longest a connection goes without a refresh, in seconds. */
  keep_alive_s: z.number().int().positive().optional(),
  /** Refresh calls the whole fleet may have in flight at this token endpoint; absent = the broker's `providerConcurrency` (8). */
  refresh_concurrency: z.number().int().positive().optional(),
  /** Refresh calls per second the whole fleet may start at this token endpoint; absent = the broker's `providerRatePerSecond` (50). */
  refresh_rate_per_s: z.number().positive().optional(),
  /** Seconds to assume when the token response has no `expires_in`; absent = the token has no known expiry. */
  default_expires_in: z.number().int().positive().optional(),
  /**
   * What `expires_in: 0` means: `minimum_lifetime` (the token gets the broker's shortest stored
   * lifetime, TOKEN_LIFETIME_BOUNDS in lib/oauth/token-endpoint.ts), or `never_expires`
   * (Mailchimp: "We don't expire tokens", and answers `expires_in: 0`).
   */
  expires_in_zero: z.enum(['minimum_lifetime', 'never_expires']).default('minimum_lifetime'),
  /**
   * Where the token response gives the refresh token's remaining life in seconds (QuickBooks
   * `x_refresh_token_expires_in`, Shopify and Zendesk `refresh_token_expires_in`).
   */
  refresh_token_expires_in_path: responsePath.optional(),
  /**
   * A refresh token not used for this many seconds dies (Xero and Pipedrive 60 days, Microsoft
   * 90 days, Google six months). With `refresh_token_expires_in_path`, the earlier end wins. The
   * connection records when its refresh token dies and is refreshed before then even when its
   * access token would not need it.
   */
  refresh_token_idle_ttl_s: z.number().int().positive().optional(),
  /** `token_type` to assume when the response omits it (RD Station). */
  default_token_type: z.string().default('bearer'),
  /** Where a failed token response carries its error code, first string found wins (RD Station: `errors.error_type`). */
  error_code_paths: z.array(responsePath).min(1).default([...DEFAULT_ERROR_CODE_PATHS]),
  /** Error codes (found at `error_code_paths`) that mean the grant is dead. */
  dead_grant_errors: z.array(z.string()).default(['invalid_grant']),
  /**
   * Error codes that mean "try later" whatever the HTTP status (Zoho's HTTP-200 `Access Denied`
   * throttle, Slack's `ratelimited`, Microsoft's `temporarily_unavailable`): `provider_unavailable`,
   * never a dead grant.
   */
  transient_errors: z.array(z.string()).default([]),
  /** HTTP statuses from the token endpoint on refresh that mean the grant is dead (HighLevel answers 401). */
  dead_grant_statuses: z.array(z.number().int().min(400).max(499)).default([]),
  /**
   * Whom the token endpoint's rate limit (HTTP 429) is counted against. `account` (the default;
   * HubSpot, HighLevel and Marketo count per portal, location or instance): a 429 backs off that
   * one connection. `app`: the limit is the whole app's, so a 429 counts against the provider's
   * health like a 5xx, and enough of them open its circuit for every connection.
   */
  rate_limit_scope: z.enum(['account', 'app']).default('account'),
  /**
   * The marketplace may start the install itself and send the customer to our callback
   * with a `code` and no `state` we issued (HighLevel). Such a callback is accepted and
   * exchanged without PKCE; a `state` that is present must still be valid.
   */
  allow_stateless_callback: z.boolean().default(false),
  /** Name of the secret holding `{"client_id","client_secret"}`; defaults to the provider key. */
  secret_name: z.string().optional(),
  /**
   * Other secrets a connection of this provider may name (`credentials.secret_name` on PUT
   * /connections/{id}); its own `secret_name` always may. `name/*` allows every name under `name/`.
   */
  allowed_secret_names: z.array(z.string().min(1)).default([]),
  /** Issuer checks (RFC 9207 `iss`, OpenID Connect `id_token`); absent = the provider makes no such claims. */
  oidc: oidcSchema.optional(),
  /** Parameters each connection supplies (Nango `connection_config`). */
  connection_config: z.record(z.string(), connectionConfigFieldSchema).default({}),
  revocation: revocationSchema.optional(),
});

export type ProviderInput = z.input<typeof providerSchema>;
export type ProviderDefinition = z.output<typeof providerSchema>;
export type RevocationDefinition = z.output<typeof revocationSchema>;
export type OidcDefinition = z.output<typeof oidcSchema>;
export type TenantRequestDefinition = z.output<typeof tenantRequestSchema>;

/** A catalogue entry after loading: the definition plus its key and resolved secret name. */
export interface Provider extends ProviderDefinition {
  key: string;
  secret_name: string;
}

/** A catalogue entry the loader could not serve (an auth mode or template the broker does not implement). */
export interface SkippedProvider {
  key: string;
  display_name?: string;
  /** One line, no secret: what the entry needs that the broker does not do. */
  reason: string;
}

/**
 * The loaded catalogue: served entries by key, plus the entries that were skipped (so their
 * install link can say why instead of "unknown provider"). A plain Map is a catalogue too.
 */
export interface Catalogue extends ReadonlyMap<string, Provider> {
  readonly skipped?: ReadonlyMap<string, SkippedProvider>;
}
