// Generated from docs/openapi.json by scripts/generate-openapi.ts (openapi-typescript). Do not edit:
// change lib/http/openapi.ts and run `npx tsx scripts/generate-openapi.ts` (a test fails while they differ).
/* eslint-disable */
export interface paths {
    "/connections": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List connections, optionally narrowed by provider, status and tenant
         * @description One page; follow `cursor` with the same filters for the next. Filtered lists are served by a query on an index (never a scan of the table), so a page may hold fewer than `limit` connections and still have a cursor. An unknown parameter or a malformed value is 400 `invalid_request` naming the parameter in `details.parameter`; nothing is listed.
         */
        get: operations["listConnections"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/connections/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Describe one connection (metadata, last error, schedule) */
        get: operations["getConnection"];
        /** Register (or update) a client-credentials connection; its first token is fetched before anything is stored */
        put: operations["registerClientCredentials"];
        post?: never;
        /** Revoke a connection here, then at the provider where it supports revocation */
        delete: operations["revokeConnection"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/connections/{id}/token": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** A valid access token for the connection (refreshed first when close to expiry, or with force_refresh) */
        post: operations["getToken"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/install-links": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Mint a signed install link bound to a provider and, optionally, a connection id, return_to, connection_config, scopes and tags */
        post: operations["createInstallLink"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/providers": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The enabled providers' metadata (never a secret), and enabled entries the catalogue skipped */
        get: operations["listProviders"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        AccessToken: {
            /** @description Secret: send it to the provider only. */
            access_token: string;
            connection_id: string;
            /** Format: date-time */
            expires_at: string | null;
            provider: string;
            scopes: string[];
            tenant: string | null;
            token_type: string;
        };
        /**
         * @description OAUTH2: authorization code (+ refresh); OAUTH2_CC: client credentials.
         * @enum {string}
         */
        AuthMode: "OAUTH2" | "OAUTH2_CC";
        ConnectionConfigField: {
            default_value: string | null;
            description: string | null;
            enum: null | string[];
            format: string | null;
            optional: boolean;
            pattern: string | null;
            title: string | null;
        };
        ConnectionList: {
            connections: components["schemas"]["ConnectionSummary"][];
            /** @description Opaque; pass it as `cursor` with the same filters for the next page. Absent on the last page. */
            cursor?: string;
            /** @description Items on this page that do not read as a connection: left out of `connections` and named here, so one bad item never breaks a list. */
            unreadable?: {
                id: string;
                /** @description What is wrong, naming the field, never its value. */
                reason: string;
            }[];
        };
        ConnectionResponse: {
            connection: components["schemas"]["ConnectionSummary"];
        };
        /** @enum {string} */
        ConnectionStatus: "active" | "needs_reauth" | "revoked";
        /** @description What the broker knows about one connection: metadata only, never a token or secret. */
        ConnectionSummary: {
            auth_mode: components["schemas"]["AuthMode"];
            connection_config: {
                [key: string]: string;
            };
            /**
             * Format: date-time
             * @description Null only when the stored value is no valid time (then in `invalid_fields`).
             */
            created_at: string | null;
            /**
             * Format: date-time
             * @description When the stored access token expires.
             */
            expires_at: string | null;
            failure_count: number;
            id: string;
            /** @description Present when stored values could not be rendered (an expiry past what a date holds, stored before the lifetime bounds): those fields read null and are named here. */
            invalid_fields?: string[];
            last_error: null | {
                /** Format: date-time */
                at: string | null;
                code: string;
                message: string;
                providerCode?: string;
            };
            /** Format: date-time */
            last_refresh_at: string | null;
            metadata: {
                [key: string]: string;
            };
            provider: string;
            /** @description Its provider's health, on lists and on GET /connections/{id}. */
            provider_health?: components["schemas"]["ProviderHealth"];
            /**
             * Format: date-time
             * @description When the refresh scheduler next sends it to be refreshed; null when not scheduled (an on_demand provider, or nothing that expires).
             */
            refresh_due_at: string | null;
            /**
             * Format: date-time
             * @description When the refresh token dies unless used (its provider-given life or idle limit); null when not known.
             */
            refresh_token_expires_at: string | null;
            /** @description Scopes the provider granted. */
            scopes: string[];
            status: components["schemas"]["ConnectionStatus"];
            /** @description The tags of the signed install link the connection was made through. */
            tags: {
                [key: string]: string;
            };
            /** @description The provider-side account (HubSpot hub id, HighLevel location…); with several, the first of `tenants`. */
            tenant: string | null;
            /** @description Every account the grant covers (Xero's organisations, sorted); `[tenant]` for a single-account grant, `[]` without a tenant. */
            tenants: string[];
            /**
             * Format: date-time
             * @description Null only when the stored value is no valid time (then in `invalid_fields`).
             */
            updated_at: string | null;
        };
        Error: {
            error: {
                code: components["schemas"]["ErrorCode"];
                /** @description Non-secret facts: the offending `parameter`, the provider's `provider_error`, `http_status`, `retry_after_s`… */
                details?: {
                    [key: string]: string | number | boolean;
                };
                /** @description For people; never a token, code or secret. */
                message: string;
            };
        };
        /**
         * @description Stable error code; the HTTP status follows from it (lib/errors.ts).
         * @enum {string}
         */
        ErrorCode: "invalid_request" | "invalid_state" | "return_to_not_allowed" | "scope_not_allowed" | "authorization_denied" | "secret_not_allowed" | "issuer_mismatch" | "id_token_invalid" | "install_link_invalid" | "install_link_expired" | "install_link_used" | "tenant_conflict" | "unauthorized" | "unknown_provider" | "provider_not_configured" | "provider_not_supported" | "connection_not_found" | "conflict" | "needs_reauth" | "connection_revoked" | "provider_error" | "provider_unavailable" | "provider_timeout" | "refresh_in_progress" | "queue_unavailable" | "configuration_error" | "decrypt_failed" | "internal_error";
        /** @description API Gateway's answer to a request without a valid SigV4 signature or without execute-api:Invoke (deployed stacks only). */
        Forbidden: {
            message: string;
        };
        InstallLink: {
            /** Format: date-time */
            expires_at: string;
            /**
             * Format: uri
             * @description The link to hand the customer: reusable until it expires or a connection is stored through it.
             */
            url: string;
        };
        /** @description The values the link is bound to; each is checked now (400, no link) and again when the link is opened. */
        InstallLinkRequest: {
            /** @description Values for the provider's `connection_config` parameters. */
            connection_config?: {
                [key: string]: string;
            };
            /** @description The id the connection gets; only signed links choose ids. */
            connection_id?: string;
            /** @description Seconds the link stays valid (default 24 h). */
            expires_in?: number;
            /** @description An authorization-code (OAUTH2) provider. */
            provider: string;
            /**
             * Format: uri
             * @description Where the customer lands after consent; its origin must be on the allowlist.
             */
            return_to?: string;
            /** @description Within the provider's default and allowed scopes. */
            scopes?: string[];
            /** @description Your own labels, carried in the link. */
            tags?: {
                [key: string]: string;
            };
        };
        /** @description The provider's fleet-wide health: the circuit refreshes share (docs/design.md, provider health). */
        ProviderHealth: {
            /**
             * @description closed: refreshes call the provider; open: they do not; half_open: a probe is in flight or due.
             * @enum {string}
             */
            circuit: "closed" | "open" | "half_open";
            failures: number;
            last_failure: null | {
                /** Format: date-time */
                at: string;
                code: string;
                provider_code: string | null;
            };
            /** Format: date-time */
            next_probe_at: string | null;
            /** Format: date-time */
            opened_at: string | null;
        };
        ProviderList: {
            providers: components["schemas"]["ProviderSummary"][];
            /** @description Enabled catalogue entries the broker cannot serve, and why. */
            skipped: {
                display_name: string | null;
                key: string;
                reason: string;
            }[];
        };
        ProviderSummary: {
            allowed_scopes: string[];
            auth_mode: components["schemas"]["AuthMode"];
            /**
             * @description install_link: the customer's browser consents; register: PUT /connections/{id} with client credentials.
             * @enum {string}
             */
            connect_with: "install_link" | "register";
            connection_config: {
                [key: string]: components["schemas"]["ConnectionConfigField"];
            };
            default_scopes: string[];
            display_name: string;
            docs: string | null;
            health: components["schemas"]["ProviderHealth"];
            key: string;
            /** @description Whether revoking also revokes the grant at the provider. */
            revocation: boolean;
        };
        RegisterClientCredentialsRequest: {
            /** @description Values for the provider's `connection_config` parameters (GET /providers). */
            connection_config?: {
                [key: string]: string;
            };
            /** @description Inline client credentials (sealed like tokens), or the name of a secret holding them; absent: the provider app's own secret. */
            credentials?: {
                client_id: string;
                client_secret: string;
            } | {
                secret_name: string;
            };
            /** @description A client-credentials (OAUTH2_CC) provider. */
            provider: string;
        };
        RevokeResult: {
            connection: components["schemas"]["ConnectionSummary"];
            provider_error?: string;
            /**
             * @description What the provider said; the connection is revoked here whatever it was. already_revoked: it was revoked before this call, nothing was sent.
             * @enum {string}
             */
            provider_revocation: "revoked" | "not_supported" | "failed" | "already_revoked";
        };
        TokenRequest: {
            /** @description Refresh now (the provider just answered 401), once fleet-wide. */
            force_refresh?: boolean;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    listConnections: {
        parameters: {
            query?: {
                /** @description The `cursor` of the previous page of the same filters. */
                cursor?: string;
                limit?: number;
                provider?: string;
                status?: components["schemas"]["ConnectionStatus"];
                /** @description The provider-side account id; only together with `provider` (an id means one account at one provider). */
                tenant?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of connections */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConnectionList"];
                };
            };
            /** @description Error: invalid_request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "invalid_request";
                        };
                    };
                };
            };
            /** @description Error: unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "unauthorized";
                        };
                    };
                };
            };
            /** @description Deployed stacks: the SigV4 signature is missing or wrong, or the caller lacks execute-api:Invoke */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description Error: internal_error, configuration_error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "internal_error" | "configuration_error";
                        };
                    };
                };
            };
        };
    };
    getConnection: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The connection id (percent-encoded in the path). */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The connection */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConnectionResponse"];
                };
            };
            /** @description Error: invalid_request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "invalid_request";
                        };
                    };
                };
            };
            /** @description Error: unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "unauthorized";
                        };
                    };
                };
            };
            /** @description Deployed stacks: the SigV4 signature is missing or wrong, or the caller lacks execute-api:Invoke */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description Error: connection_not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "connection_not_found";
                        };
                    };
                };
            };
            /** @description Error: decrypt_failed, internal_error, configuration_error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "decrypt_failed" | "internal_error" | "configuration_error";
                        };
                    };
                };
            };
        };
    };
    registerClientCredentials: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The connection id (percent-encoded in the path). */
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RegisterClientCredentialsRequest"];
            };
        };
        responses: {
            /** @description The connection as stored */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConnectionResponse"];
                };
            };
            /** @description Error: invalid_request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "invalid_request";
                        };
                    };
                };
            };
            /** @description Error: unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "unauthorized";
                        };
                    };
                };
            };
            /** @description Deployed stacks: the SigV4 signature is missing or wrong, or the caller lacks execute-api:Invoke */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description Error: unknown_provider, provider_not_supported, provider_not_configured */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "unknown_provider" | "provider_not_supported" | "provider_not_configured";
                        };
                    };
                };
            };
            /** @description Error: conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "conflict";
                        };
                    };
                };
            };
            /** @description Error: decrypt_failed, internal_error, configuration_error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "decrypt_failed" | "internal_error" | "configuration_error";
                        };
                    };
                };
            };
            /** @description Error: provider_error */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "provider_error";
                        };
                    };
                };
            };
            /** @description Error: provider_unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "provider_unavailable";
                        };
                    };
                };
            };
            /** @description Error: provider_timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "provider_timeout";
                        };
                    };
                };
            };
        };
    };
    revokeConnection: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The connection id (percent-encoded in the path). */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The revoked connection and what the provider said */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RevokeResult"];
                };
            };
            /** @description Error: invalid_request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "invalid_request";
                        };
                    };
                };
            };
            /** @description Error: unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "unauthorized";
                        };
                    };
                };
            };
            /** @description Deployed stacks: the SigV4 signature is missing or wrong, or the caller lacks execute-api:Invoke */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description Error: connection_not_found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "connection_not_found";
                        };
                    };
                };
            };
            /** @description Error: conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "conflict";
                        };
                    };
                };
            };
            /** @description Error: decrypt_failed, internal_error, configuration_error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "decrypt_failed" | "internal_error" | "configuration_error";
                        };
                    };
                };
            };
        };
    };
    getToken: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The connection id (percent-encoded in the path). */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["TokenRequest"];
            };
        };
        responses: {
            /** @description The access token */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AccessToken"];
                };
            };
            /** @description Error: invalid_request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "invalid_request";
                        };
                    };
                };
            };
            /** @description Error: unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "unauthorized";
                        };
                    };
                };
            };
            /** @description Deployed stacks: the SigV4 signature is missing or wrong, or the caller lacks execute-api:Invoke */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description Error: connection_not_found, unknown_provider, provider_not_supported, provider_not_configured */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "connection_not_found" | "unknown_provider" | "provider_not_supported" | "provider_not_configured";
                        };
                    };
                };
            };
            /** @description Error: conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "conflict";
                        };
                    };
                };
            };
            /** @description Error: connection_revoked */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "connection_revoked";
                        };
                    };
                };
            };
            /** @description Error: needs_reauth */
            424: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "needs_reauth";
                        };
                    };
                };
            };
            /** @description Error: decrypt_failed, internal_error, configuration_error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "decrypt_failed" | "internal_error" | "configuration_error";
                        };
                    };
                };
            };
            /** @description Error: provider_error */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "provider_error";
                        };
                    };
                };
            };
            /** @description Error: provider_unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "provider_unavailable";
                        };
                    };
                };
            };
            /** @description Error: provider_timeout */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "provider_timeout";
                        };
                    };
                };
            };
        };
    };
    createInstallLink: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["InstallLinkRequest"];
            };
        };
        responses: {
            /** @description The signed link */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InstallLink"];
                };
            };
            /** @description Error: invalid_request, return_to_not_allowed, scope_not_allowed */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "invalid_request" | "return_to_not_allowed" | "scope_not_allowed";
                        };
                    };
                };
            };
            /** @description Error: unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "unauthorized";
                        };
                    };
                };
            };
            /** @description Deployed stacks: the SigV4 signature is missing or wrong, or the caller lacks execute-api:Invoke */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description Error: unknown_provider, provider_not_supported */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "unknown_provider" | "provider_not_supported";
                        };
                    };
                };
            };
            /** @description Error: internal_error, configuration_error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "internal_error" | "configuration_error";
                        };
                    };
                };
            };
        };
    };
    listProviders: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The providers, by key */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ProviderList"];
                };
            };
            /** @description Error: invalid_request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "invalid_request";
                        };
                    };
                };
            };
            /** @description Error: unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "unauthorized";
                        };
                    };
                };
            };
            /** @description Deployed stacks: the SigV4 signature is missing or wrong, or the caller lacks execute-api:Invoke */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Forbidden"];
                };
            };
            /** @description Error: internal_error, configuration_error */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        error?: {
                            /** @enum {unknown} */
                            code?: "internal_error" | "configuration_error";
                        };
                    };
                };
            };
        };
    };
}
