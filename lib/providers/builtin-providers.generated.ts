// Generated from lib/providers/catalogue.yaml by scripts/generate-catalogue.ts. Do not edit.
// The built-in catalogue after validation (defaults applied): what a Lambda uses when no
// BROKER_PROVIDERS_FILE is set, so a cold start loads neither zod nor yaml.
import type { Provider } from './schema';

export const BUILTIN_PROVIDERS: Record<string, Provider> = {
  "hubspot": {
    "display_name": "HubSpot",
    "auth_mode": "OAUTH2",
    "docs": "https://developers.hubspot.com/docs/api-reference/legacy/authentication/oauth-tokens/v1/guide",
    "authorization_url": "https://app.hubspot.com/oauth/authorize",
    "token_url": "https://api.hubapi.com/oauth/v1/token",
    "authorization_params": {},
    "token_params": {},
    "refresh_params": {},
    "token_headers": {},
    "scope_separator": " ",
    "default_scopes": [
      "oauth"
    ],
    "optional_scope_param": "optional_scope",
    "default_optional_scopes": [],
    "allowed_scopes": [],
    "granted_scopes_path": "scopes",
    "disable_pkce": false,
    "token_request_auth_method": "client_secret_post",
    "body_format": "form",
    "token_request_method": "POST",
    "omit_grant_type": false,
    "token_response_metadata": [
      "hub_id"
    ],
    "tenant_fields": [
      "hub_id"
    ],
    "refresh_policy": "eager",
    "default_token_type": "bearer",
    "error_code_paths": [
      "error",
      "status",
      "error_type",
      "error_code",
      "errors.error_type",
      "errors[0].error_type",
      "errors[0].code",
      "error.code",
      "code"
    ],
    "dead_grant_errors": [
      "invalid_grant",
      "BAD_REFRESH_TOKEN"
    ],
    "dead_grant_statuses": [],
    "rate_limit_scope": "account",
    "allow_stateless_callback": false,
    "allowed_secret_names": [],
    "connection_config": {},
    "revocation": {
      "url": "https://api.hubapi.com/oauth/v1/refresh-tokens/${token}",
      "method": "DELETE",
      "token": "refresh_token",
      "token_in": "path",
      "auth": "none",
      "send_token_type_hint": false
    },
    "key": "hubspot",
    "secret_name": "hubspot"
  },
  "highlevel": {
    "display_name": "HighLevel",
    "auth_mode": "OAUTH2",
    "docs": "https://marketplace.gohighlevel.com/docs/oauth/Authorization",
    "authorization_url": "https://marketplace.gohighlevel.com/oauth/chooselocation",
    "token_url": "https://services.leadconnectorhq.com/oauth/token",
    "authorization_params": {},
    "token_params": {
      "user_type": "Location"
    },
    "refresh_params": {
      "user_type": "Location"
    },
    "token_headers": {
      "Version": "2021-07-28"
    },
    "scope_separator": " ",
    "default_scopes": [
      "contacts.readonly",
      "locations.readonly"
    ],
    "default_optional_scopes": [],
    "allowed_scopes": [],
    "granted_scopes_path": "scope",
    "disable_pkce": true,
    "token_request_auth_method": "client_secret_post",
    "body_format": "form",
    "token_request_method": "POST",
    "omit_grant_type": false,
    "token_response_metadata": [
      "locationId",
      "companyId",
      "userType",
      "userId"
    ],
    "tenant_fields": [
      "locationId",
      "companyId"
    ],
    "refresh_policy": "eager",
    "default_token_type": "bearer",
    "error_code_paths": [
      "error",
      "status",
      "error_type",
      "error_code",
      "errors.error_type",
      "errors[0].error_type",
      "errors[0].code",
      "error.code",
      "code"
    ],
    "dead_grant_errors": [
      "invalid_grant"
    ],
    "dead_grant_statuses": [
      401
    ],
    "rate_limit_scope": "account",
    "allow_stateless_callback": true,
    "allowed_secret_names": [],
    "connection_config": {},
    "key": "highlevel",
    "secret_name": "highlevel"
  },
  "leadconnector": {
    "display_name": "LeadConnector (HighLevel white label)",
    "auth_mode": "OAUTH2",
    "extends": "highlevel",
    "docs": "https://marketplace.gohighlevel.com/docs/oauth/Authorization",
    "authorization_url": "https://marketplace.leadconnectorhq.com/oauth/chooselocation",
    "token_url": "https://services.leadconnectorhq.com/oauth/token",
    "authorization_params": {},
    "token_params": {
      "user_type": "Location"
    },
    "refresh_params": {
      "user_type": "Location"
    },
    "token_headers": {
      "Version": "2021-07-28"
    },
    "scope_separator": " ",
    "default_scopes": [
      "contacts.readonly",
      "locations.readonly"
    ],
    "default_optional_scopes": [],
    "allowed_scopes": [],
    "granted_scopes_path": "scope",
    "disable_pkce": true,
    "token_request_auth_method": "client_secret_post",
    "body_format": "form",
    "token_request_method": "POST",
    "omit_grant_type": false,
    "token_response_metadata": [
      "locationId",
      "companyId",
      "userType",
      "userId"
    ],
    "tenant_fields": [
      "locationId",
      "companyId"
    ],
    "refresh_policy": "eager",
    "default_token_type": "bearer",
    "error_code_paths": [
      "error",
      "status",
      "error_type",
      "error_code",
      "errors.error_type",
      "errors[0].error_type",
      "errors[0].code",
      "error.code",
      "code"
    ],
    "dead_grant_errors": [
      "invalid_grant"
    ],
    "dead_grant_statuses": [
      401
    ],
    "rate_limit_scope": "account",
    "allow_stateless_callback": true,
    "allowed_secret_names": [],
    "connection_config": {},
    "key": "leadconnector",
    "secret_name": "leadconnector"
  },
  "rdstation": {
    "display_name": "RD Station Marketing",
    "auth_mode": "OAUTH2",
    "docs": "https://developers.rdstation.com/reference/autenticacao",
    "authorization_url": "https://api.rd.services/auth/dialog",
    "token_url": "https://api.rd.services/auth/token",
    "authorization_params": {},
    "token_params": {},
    "refresh_params": {},
    "token_headers": {},
    "scope_separator": " ",
    "default_scopes": [],
    "default_optional_scopes": [],
    "allowed_scopes": [],
    "granted_scopes_path": "scope",
    "disable_pkce": true,
    "token_request_auth_method": "client_secret_post",
    "body_format": "json",
    "token_request_method": "POST",
    "omit_grant_type": true,
    "token_response_metadata": [],
    "tenant_fields": [],
    "refresh_policy": "eager",
    "default_expires_in": 86400,
    "default_token_type": "bearer",
    "error_code_paths": [
      "error",
      "status",
      "error_type",
      "error_code",
      "errors.error_type",
      "errors[0].error_type",
      "errors[0].code",
      "error.code",
      "code"
    ],
    "dead_grant_errors": [
      "invalid_grant",
      "INVALID_REFRESH_TOKEN"
    ],
    "dead_grant_statuses": [],
    "rate_limit_scope": "account",
    "allow_stateless_callback": false,
    "allowed_secret_names": [],
    "connection_config": {},
    "revocation": {
      "url": "https://api.rd.services/auth/revoke",
      "method": "POST",
      "token": "access_token",
      "token_in": "body",
      "auth": "bearer_access_token",
      "send_token_type_hint": true
    },
    "key": "rdstation",
    "secret_name": "rdstation"
  },
  "fracttal": {
    "display_name": "Fracttal",
    "auth_mode": "OAUTH2",
    "docs": "https://api.fracttal.com/v2-En/reference/oauth-20",
    "authorization_url": "https://one.fracttal.com/oauth/authorize",
    "token_url": "https://one.fracttal.com/oauth/token",
    "authorization_params": {},
    "token_params": {},
    "refresh_params": {},
    "token_headers": {},
    "scope_separator": " ",
    "default_scopes": [],
    "default_optional_scopes": [],
    "allowed_scopes": [],
    "granted_scopes_path": "scope",
    "disable_pkce": false,
    "token_request_auth_method": "client_secret_post",
    "body_format": "form",
    "token_request_method": "POST",
    "omit_grant_type": false,
    "token_response_metadata": [],
    "tenant_fields": [],
    "refresh_policy": "eager",
    "default_expires_in": 7200,
    "default_token_type": "bearer",
    "error_code_paths": [
      "error",
      "status",
      "error_type",
      "error_code",
      "errors.error_type",
      "errors[0].error_type",
      "errors[0].code",
      "error.code",
      "code"
    ],
    "dead_grant_errors": [
      "invalid_grant"
    ],
    "dead_grant_statuses": [],
    "rate_limit_scope": "account",
    "allow_stateless_callback": false,
    "allowed_secret_names": [],
    "connection_config": {},
    "key": "fracttal",
    "secret_name": "fracttal"
  },
  "fracttal-cc": {
    "display_name": "Fracttal (client credentials)",
    "auth_mode": "OAUTH2_CC",
    "docs": "https://api.fracttal.com/v2-En/reference/oauth-20",
    "token_url": "https://one.fracttal.com/oauth/token",
    "authorization_params": {},
    "token_params": {},
    "refresh_params": {},
    "token_headers": {},
    "scope_separator": " ",
    "default_scopes": [],
    "default_optional_scopes": [],
    "allowed_scopes": [],
    "granted_scopes_path": "scope",
    "disable_pkce": false,
    "token_request_auth_method": "basic",
    "body_format": "form",
    "token_request_method": "POST",
    "omit_grant_type": false,
    "token_response_metadata": [],
    "tenant_fields": [],
    "refresh_policy": "eager",
    "default_expires_in": 7200,
    "default_token_type": "bearer",
    "error_code_paths": [
      "error",
      "status",
      "error_type",
      "error_code",
      "errors.error_type",
      "errors[0].error_type",
      "errors[0].code",
      "error.code",
      "code"
    ],
    "dead_grant_errors": [
      "invalid_client",
      "unauthorized_client",
      "invalid_grant"
    ],
    "dead_grant_statuses": [],
    "rate_limit_scope": "account",
    "allow_stateless_callback": false,
    "allowed_secret_names": [],
    "connection_config": {},
    "key": "fracttal-cc",
    "secret_name": "fracttal-cc"
  },
  "marketo": {
    "display_name": "Marketo Engage",
    "auth_mode": "OAUTH2_CC",
    "docs": "https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/authentication",
    "token_url": "${connectionConfig.identity_url}/oauth/token",
    "authorization_params": {},
    "token_params": {},
    "refresh_params": {},
    "token_headers": {},
    "scope_separator": " ",
    "default_scopes": [],
    "default_optional_scopes": [],
    "allowed_scopes": [],
    "granted_scopes_path": "scope",
    "disable_pkce": false,
    "token_request_auth_method": "client_secret_post",
    "body_format": "query",
    "token_request_method": "GET",
    "omit_grant_type": false,
    "token_response_metadata": [],
    "tenant_fields": [],
    "refresh_policy": "eager",
    "default_expires_in": 3600,
    "default_token_type": "bearer",
    "error_code_paths": [
      "error",
      "status",
      "error_type",
      "error_code",
      "errors.error_type",
      "errors[0].error_type",
      "errors[0].code",
      "error.code",
      "code"
    ],
    "dead_grant_errors": [
      "invalid_client",
      "unauthorized"
    ],
    "dead_grant_statuses": [
      401
    ],
    "rate_limit_scope": "account",
    "allow_stateless_callback": false,
    "allowed_secret_names": [
      "marketo/*"
    ],
    "connection_config": {
      "identity_url": {
        "type": "string",
        "title": "Identity URL",
        "description": "Admin > Integration > Web Services > REST API, e.g. https://284-RPR-133.mktorest.com/identity",
        "pattern": "https://[0-9A-Za-z-]+\\.mktorest\\.com/identity/?",
        "optional": false
      }
    },
    "key": "marketo",
    "secret_name": "marketo"
  },
  "sandbox": {
    "display_name": "Sandbox (local oidc-provider)",
    "auth_mode": "OAUTH2",
    "docs": "https://github.com/panva/node-oidc-provider",
    "authorization_url": "http://127.0.0.1:3001/auth",
    "token_url": "http://127.0.0.1:3001/token",
    "authorization_params": {
      "prompt": "consent"
    },
    "token_params": {},
    "refresh_params": {},
    "token_headers": {},
    "scope_separator": " ",
    "default_scopes": [
      "openid",
      "offline_access",
      "contacts.read"
    ],
    "default_optional_scopes": [],
    "allowed_scopes": [],
    "granted_scopes_path": "scope",
    "disable_pkce": false,
    "token_request_auth_method": "client_secret_post",
    "body_format": "form",
    "token_request_method": "POST",
    "omit_grant_type": false,
    "token_response_metadata": [],
    "tenant_fields": [],
    "refresh_policy": "eager",
    "default_token_type": "bearer",
    "error_code_paths": [
      "error",
      "status",
      "error_type",
      "error_code",
      "errors.error_type",
      "errors[0].error_type",
      "errors[0].code",
      "error.code",
      "code"
    ],
    "dead_grant_errors": [
      "invalid_grant"
    ],
    "dead_grant_statuses": [],
    "rate_limit_scope": "account",
    "allow_stateless_callback": false,
    "allowed_secret_names": [],
    "oidc": {
      "issuer": "http://127.0.0.1:3001",
      "jwks_uri": "http://127.0.0.1:3001/jwks",
      "tenant_claim": "sub",
      "nonce": true,
      "id_token": "required",
      "authorization_response_iss": "required"
    },
    "connection_config": {},
    "revocation": {
      "url": "http://127.0.0.1:3001/token/revocation",
      "method": "POST",
      "token": "refresh_token",
      "token_in": "body",
      "auth": "client_secret_post",
      "send_token_type_hint": true
    },
    "key": "sandbox",
    "secret_name": "sandbox"
  },
  "sandbox-cc": {
    "display_name": "Sandbox (client credentials)",
    "auth_mode": "OAUTH2_CC",
    "docs": "https://github.com/panva/node-oidc-provider",
    "token_url": "http://127.0.0.1:3001/token",
    "authorization_params": {},
    "token_params": {},
    "refresh_params": {},
    "token_headers": {},
    "scope_separator": " ",
    "default_scopes": [
      "contacts.read"
    ],
    "default_optional_scopes": [],
    "allowed_scopes": [],
    "granted_scopes_path": "scope",
    "disable_pkce": false,
    "token_request_auth_method": "client_secret_post",
    "body_format": "form",
    "token_request_method": "POST",
    "omit_grant_type": false,
    "token_response_metadata": [],
    "tenant_fields": [],
    "refresh_policy": "eager",
    "default_token_type": "bearer",
    "error_code_paths": [
      "error",
      "status",
      "error_type",
      "error_code",
      "errors.error_type",
      "errors[0].error_type",
      "errors[0].code",
      "error.code",
      "code"
    ],
    "dead_grant_errors": [
      "invalid_client",
      "unauthorized_client"
    ],
    "dead_grant_statuses": [],
    "rate_limit_scope": "account",
    "allow_stateless_callback": false,
    "secret_name": "sandbox",
    "allowed_secret_names": [],
    "connection_config": {},
    "key": "sandbox-cc"
  }
};
