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
    "callback_metadata": [],
    "refresh_policy": "eager",
    "expires_in_zero": "minimum_lifetime",
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
    "transient_errors": [],
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
      "body_format": "form",
      "auth": "none",
      "headers": {},
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
    "callback_metadata": [],
    "refresh_policy": "eager",
    "expires_in_zero": "minimum_lifetime",
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
    "transient_errors": [],
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
    "callback_metadata": [],
    "refresh_policy": "eager",
    "expires_in_zero": "minimum_lifetime",
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
    "transient_errors": [],
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
    "callback_metadata": [],
    "refresh_policy": "eager",
    "default_expires_in": 86400,
    "expires_in_zero": "minimum_lifetime",
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
    "transient_errors": [],
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
      "body_format": "form",
      "auth": "bearer_access_token",
      "headers": {},
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
    "callback_metadata": [],
    "refresh_policy": "eager",
    "default_expires_in": 7200,
    "expires_in_zero": "minimum_lifetime",
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
    "transient_errors": [],
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
    "callback_metadata": [],
    "refresh_policy": "eager",
    "default_expires_in": 7200,
    "expires_in_zero": "minimum_lifetime",
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
    "transient_errors": [],
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
    "callback_metadata": [],
    "refresh_policy": "eager",
    "default_expires_in": 3600,
    "expires_in_zero": "minimum_lifetime",
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
    "transient_errors": [],
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
    "callback_metadata": [],
    "refresh_policy": "eager",
    "expires_in_zero": "minimum_lifetime",
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
    "transient_errors": [],
    "dead_grant_statuses": [],
    "rate_limit_scope": "account",
    "allow_stateless_callback": false,
    "allowed_secret_names": [],
    "oidc": {
      "issuer": "http://127.0.0.1:3001",
      "issuer_aliases": [],
      "jwks_uri": "http://127.0.0.1:3001/jwks",
      "tenant_claim": "sub",
      "nonce": true,
      "id_token": "required",
      "authorization_response_iss": "required",
      "metadata_claims": []
    },
    "connection_config": {},
    "revocation": {
      "url": "http://127.0.0.1:3001/token/revocation",
      "method": "POST",
      "token": "refresh_token",
      "token_in": "body",
      "body_format": "form",
      "auth": "client_secret_post",
      "headers": {},
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
    "callback_metadata": [],
    "refresh_policy": "eager",
    "expires_in_zero": "minimum_lifetime",
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
    "transient_errors": [],
    "dead_grant_statuses": [],
    "rate_limit_scope": "account",
    "allow_stateless_callback": false,
    "secret_name": "sandbox",
    "allowed_secret_names": [],
    "connection_config": {},
    "key": "sandbox-cc"
  },
  "salesforce": {
    "display_name": "Salesforce",
    "auth_mode": "OAUTH2",
    "docs": "https://help.salesforce.com/s/articleView?id=remoteaccess_oauth_web_server_flow.htm",
    "authorization_url": "https://login.salesforce.com/services/oauth2/authorize",
    "token_url": "https://login.salesforce.com/services/oauth2/token",
    "authorization_params": {},
    "token_params": {},
    "refresh_params": {},
    "token_headers": {},
    "scope_separator": " ",
    "default_scopes": [
      "api",
      "refresh_token"
    ],
    "default_optional_scopes": [],
    "allowed_scopes": [],
    "granted_scopes_path": "scope",
    "disable_pkce": false,
    "token_request_auth_method": "client_secret_post",
    "body_format": "form",
    "token_request_method": "POST",
    "omit_grant_type": false,
    "token_response_metadata": [
      "id"
    ],
    "tenant_fields": [
      "id"
    ],
    "tenant_pattern": "https://[^/]+/id/([A-Za-z0-9]{15,18})/[A-Za-z0-9]{15,18}",
    "callback_metadata": [],
    "refresh_policy": "eager",
    "default_expires_in": 7200,
    "expires_in_zero": "minimum_lifetime",
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
    "transient_errors": [],
    "dead_grant_statuses": [],
    "rate_limit_scope": "account",
    "allow_stateless_callback": false,
    "allowed_secret_names": [],
    "connection_config": {
      "instance_url": {
        "type": "string",
        "title": "Instance URL",
        "description": "the org's own API host, from the token response (e.g. https://acme.my.salesforce.com)",
        "pattern": "https://[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.salesforce\\.com",
        "optional": false,
        "token_response_path": "instance_url"
      }
    },
    "revocation": {
      "url": "https://login.salesforce.com/services/oauth2/revoke",
      "method": "POST",
      "token": "refresh_token",
      "token_in": "body",
      "body_format": "form",
      "auth": "none",
      "headers": {},
      "send_token_type_hint": false
    },
    "key": "salesforce",
    "secret_name": "salesforce"
  },
  "pipedrive": {
    "display_name": "Pipedrive",
    "auth_mode": "OAUTH2",
    "docs": "https://pipedrive.readme.io/docs/marketplace-oauth-authorization",
    "authorization_url": "https://oauth.pipedrive.com/oauth/authorize",
    "token_url": "https://oauth.pipedrive.com/oauth/token",
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
    "token_request_auth_method": "basic",
    "body_format": "form",
    "token_request_method": "POST",
    "omit_grant_type": false,
    "token_response_metadata": [],
    "tenant_fields": [],
    "tenant_request": {
      "url": "${connectionConfig.api_domain}/api/v1/users/me",
      "method": "GET",
      "auth_scheme": "Bearer",
      "headers": {},
      "tenant_path": "data.company_id",
      "filter": {},
      "metadata": [
        "data.company_domain"
      ]
    },
    "callback_metadata": [],
    "refresh_policy": "eager",
    "expires_in_zero": "minimum_lifetime",
    "refresh_token_idle_ttl_s": 5184000,
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
    "transient_errors": [],
    "dead_grant_statuses": [],
    "rate_limit_scope": "account",
    "allow_stateless_callback": true,
    "allowed_secret_names": [],
    "connection_config": {
      "api_domain": {
        "type": "string",
        "title": "API domain",
        "description": "the company's API host, from the token response (e.g. https://acme.pipedrive.com)",
        "pattern": "https://[a-z0-9][a-z0-9-]*\\.pipedrive\\.com",
        "optional": false,
        "token_response_path": "api_domain"
      }
    },
    "revocation": {
      "url": "https://oauth.pipedrive.com/oauth/revoke",
      "method": "POST",
      "token": "refresh_token",
      "token_in": "body",
      "body_format": "form",
      "auth": "basic",
      "headers": {},
      "send_token_type_hint": true
    },
    "key": "pipedrive",
    "secret_name": "pipedrive"
  },
  "zoho": {
    "display_name": "Zoho CRM",
    "auth_mode": "OAUTH2",
    "docs": "https://www.zoho.com/crm/developer/docs/api/v8/oauth-overview.html",
    "authorization_url": "https://accounts.zoho.com/oauth/v2/auth",
    "token_url": "${connectionConfig.accounts_server}/oauth/v2/token",
    "authorization_params": {
      "access_type": "offline",
      "prompt": "consent"
    },
    "token_params": {},
    "refresh_params": {},
    "token_headers": {},
    "scope_separator": ",",
    "default_scopes": [
      "ZohoCRM.modules.ALL",
      "ZohoCRM.settings.READ",
      "ZohoCRM.org.READ"
    ],
    "default_optional_scopes": [],
    "allowed_scopes": [],
    "granted_scopes_path": "scope",
    "disable_pkce": true,
    "token_request_auth_method": "client_secret_post",
    "body_format": "form",
    "token_request_method": "POST",
    "omit_grant_type": false,
    "token_response_metadata": [],
    "tenant_fields": [],
    "tenant_request": {
      "url": "${connectionConfig.api_domain}/crm/v8/org",
      "method": "GET",
      "auth_scheme": "Zoho-oauthtoken",
      "headers": {},
      "tenant_path": "org[0].id",
      "filter": {},
      "metadata": [
        "org[0].company_name",
        "org[0].domain_name"
      ]
    },
    "callback_metadata": [
      "location"
    ],
    "refresh_policy": "eager",
    "expires_in_zero": "minimum_lifetime",
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
      "invalid_code",
      "invalid_grant"
    ],
    "transient_errors": [
      "Access Denied"
    ],
    "dead_grant_statuses": [],
    "rate_limit_scope": "account",
    "allow_stateless_callback": false,
    "allowed_secret_names": [],
    "connection_config": {
      "accounts_server": {
        "type": "string",
        "title": "Accounts server",
        "description": "the data centre's accounts server, from the callback's accounts-server parameter",
        "enum": [
          "https://accounts.zoho.com",
          "https://accounts.zoho.eu",
          "https://accounts.zoho.in",
          "https://accounts.zoho.com.au",
          "https://accounts.zoho.jp",
          "https://accounts.zohocloud.ca",
          "https://accounts.zoho.sa",
          "https://accounts.zoho.uk",
          "https://accounts.zoho.com.cn"
        ],
        "default_value": "https://accounts.zoho.com",
        "optional": false,
        "callback_param": "accounts-server"
      },
      "api_domain": {
        "type": "string",
        "title": "API domain",
        "description": "the data centre's API host, from the token response (e.g. https://www.zohoapis.eu)",
        "pattern": "https://www\\.zohoapis\\.(com|eu|in|com\\.au|jp|ca|sa|uk|com\\.cn)",
        "optional": false,
        "token_response_path": "api_domain"
      }
    },
    "revocation": {
      "url": "${connectionConfig.accounts_server}/oauth/v2/token/revoke",
      "method": "POST",
      "token": "refresh_token",
      "token_in": "query",
      "body_format": "form",
      "auth": "none",
      "headers": {},
      "send_token_type_hint": false
    },
    "key": "zoho",
    "secret_name": "zoho"
  },
  "google": {
    "display_name": "Google",
    "auth_mode": "OAUTH2",
    "docs": "https://developers.google.com/identity/protocols/oauth2/web-server",
    "authorization_url": "https://accounts.google.com/o/oauth2/v2/auth",
    "token_url": "https://oauth2.googleapis.com/token",
    "authorization_params": {
      "access_type": "offline",
      "prompt": "consent",
      "include_granted_scopes": "true"
    },
    "token_params": {},
    "refresh_params": {},
    "token_headers": {},
    "scope_separator": " ",
    "default_scopes": [
      "openid",
      "email"
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
    "callback_metadata": [],
    "refresh_policy": "eager",
    "expires_in_zero": "minimum_lifetime",
    "refresh_token_idle_ttl_s": 15552000,
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
      "invalid_rapt"
    ],
    "transient_errors": [],
    "dead_grant_statuses": [],
    "rate_limit_scope": "account",
    "allow_stateless_callback": false,
    "allowed_secret_names": [],
    "oidc": {
      "issuer": "https://accounts.google.com",
      "issuer_aliases": [
        "accounts.google.com"
      ],
      "jwks_uri": "https://www.googleapis.com/oauth2/v3/certs",
      "tenant_claim": "sub",
      "nonce": true,
      "id_token": "required",
      "authorization_response_iss": "optional",
      "metadata_claims": [
        "hd"
      ]
    },
    "connection_config": {},
    "revocation": {
      "url": "https://oauth2.googleapis.com/revoke",
      "method": "POST",
      "token": "refresh_token",
      "token_in": "body",
      "body_format": "form",
      "auth": "none",
      "headers": {},
      "send_token_type_hint": false
    },
    "key": "google",
    "secret_name": "google"
  },
  "microsoft": {
    "display_name": "Microsoft Entra ID",
    "auth_mode": "OAUTH2",
    "docs": "https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow",
    "authorization_url": "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize",
    "token_url": "https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
    "authorization_params": {},
    "token_params": {},
    "refresh_params": {},
    "token_headers": {},
    "scope_separator": " ",
    "default_scopes": [
      "openid",
      "profile",
      "offline_access",
      "https://graph.microsoft.com/User.Read"
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
    "callback_metadata": [],
    "refresh_policy": "eager",
    "expires_in_zero": "minimum_lifetime",
    "refresh_token_idle_ttl_s": 7776000,
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
      "interaction_required"
    ],
    "transient_errors": [
      "temporarily_unavailable"
    ],
    "dead_grant_statuses": [],
    "rate_limit_scope": "account",
    "allow_stateless_callback": false,
    "allowed_secret_names": [],
    "oidc": {
      "issuer": "https://login.microsoftonline.com/{tid}/v2.0",
      "issuer_aliases": [],
      "jwks_uri": "https://login.microsoftonline.com/organizations/discovery/v2.0/keys",
      "tenant_claim": "tid",
      "nonce": true,
      "id_token": "required",
      "authorization_response_iss": "optional",
      "metadata_claims": []
    },
    "connection_config": {},
    "key": "microsoft",
    "secret_name": "microsoft"
  },
  "slack": {
    "display_name": "Slack",
    "auth_mode": "OAUTH2",
    "docs": "https://docs.slack.dev/authentication/installing-with-oauth",
    "authorization_url": "https://slack.com/oauth/v2/authorize",
    "token_url": "https://slack.com/api/oauth.v2.access",
    "authorization_params": {},
    "token_params": {},
    "refresh_params": {},
    "token_headers": {},
    "scope_separator": ",",
    "default_scopes": [
      "channels:read",
      "chat:write"
    ],
    "default_optional_scopes": [],
    "allowed_scopes": [],
    "granted_scopes_path": "scope",
    "disable_pkce": true,
    "token_request_auth_method": "basic",
    "body_format": "form",
    "token_request_method": "POST",
    "omit_grant_type": false,
    "token_response_metadata": [
      "team.id",
      "team.name",
      "enterprise.id",
      "enterprise.name",
      "app_id",
      "bot_user_id",
      "authed_user.id"
    ],
    "tenant_fields": [
      "team.id",
      "enterprise.id"
    ],
    "callback_metadata": [],
    "refresh_policy": "eager",
    "expires_in_zero": "minimum_lifetime",
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
      "invalid_refresh_token",
      "invalid_grant",
      "token_revoked",
      "account_inactive"
    ],
    "transient_errors": [
      "internal_error",
      "fatal_error",
      "ratelimited"
    ],
    "dead_grant_statuses": [],
    "rate_limit_scope": "account",
    "allow_stateless_callback": false,
    "allowed_secret_names": [],
    "connection_config": {},
    "revocation": {
      "url": "https://slack.com/api/auth.revoke",
      "method": "POST",
      "token": "access_token",
      "token_in": "none",
      "body_format": "form",
      "auth": "bearer_access_token",
      "headers": {},
      "send_token_type_hint": true
    },
    "key": "slack",
    "secret_name": "slack"
  },
  "shopify": {
    "display_name": "Shopify",
    "auth_mode": "OAUTH2",
    "docs": "https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant",
    "authorization_url": "https://${connectionConfig.shop}/admin/oauth/authorize",
    "token_url": "https://${connectionConfig.shop}/admin/oauth/access_token",
    "authorization_params": {},
    "token_params": {
      "expiring": "1"
    },
    "refresh_params": {},
    "token_headers": {},
    "scope_separator": ",",
    "default_scopes": [
      "read_products"
    ],
    "default_optional_scopes": [],
    "allowed_scopes": [],
    "granted_scopes_path": "scope",
    "disable_pkce": true,
    "token_request_auth_method": "client_secret_post",
    "body_format": "json",
    "token_request_method": "POST",
    "omit_grant_type": false,
    "token_response_metadata": [],
    "tenant_fields": [],
    "tenant_connection_config": "shop",
    "callback_metadata": [],
    "refresh_policy": "eager",
    "expires_in_zero": "minimum_lifetime",
    "refresh_token_expires_in_path": "refresh_token_expires_in",
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
    "transient_errors": [],
    "dead_grant_statuses": [],
    "rate_limit_scope": "account",
    "allow_stateless_callback": false,
    "allowed_secret_names": [],
    "connection_config": {
      "shop": {
        "type": "string",
        "title": "Shop domain",
        "description": "the shop's myshopify.com domain, e.g. acme.myshopify.com",
        "pattern": "[a-zA-Z0-9][a-zA-Z0-9-]*\\.myshopify\\.com",
        "optional": false
      }
    },
    "revocation": {
      "url": "https://${connectionConfig.shop}/admin/api_permissions/current.json",
      "method": "DELETE",
      "token": "access_token",
      "token_in": "none",
      "body_format": "form",
      "auth": "access_token_header",
      "auth_header": "X-Shopify-Access-Token",
      "headers": {},
      "send_token_type_hint": true
    },
    "key": "shopify",
    "secret_name": "shopify"
  },
  "zendesk": {
    "display_name": "Zendesk",
    "auth_mode": "OAUTH2",
    "docs": "https://developer.zendesk.com/documentation/api-basics/authentication/using-oauth-to-authenticate-zendesk-api-requests-in-an-app/",
    "authorization_url": "https://${connectionConfig.subdomain}.zendesk.com/oauth/authorizations/new",
    "token_url": "https://${connectionConfig.subdomain}.zendesk.com/oauth/tokens",
    "authorization_params": {},
    "token_params": {},
    "refresh_params": {},
    "token_headers": {},
    "scope_separator": " ",
    "default_scopes": [
      "read"
    ],
    "default_optional_scopes": [],
    "allowed_scopes": [],
    "granted_scopes_path": "scope",
    "disable_pkce": false,
    "token_request_auth_method": "client_secret_post",
    "body_format": "json",
    "token_request_method": "POST",
    "omit_grant_type": false,
    "token_response_metadata": [],
    "tenant_fields": [],
    "tenant_connection_config": "subdomain",
    "callback_metadata": [],
    "refresh_policy": "eager",
    "expires_in_zero": "minimum_lifetime",
    "refresh_token_expires_in_path": "refresh_token_expires_in",
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
    "transient_errors": [],
    "dead_grant_statuses": [],
    "rate_limit_scope": "account",
    "allow_stateless_callback": false,
    "allowed_secret_names": [],
    "connection_config": {
      "subdomain": {
        "type": "string",
        "title": "Zendesk subdomain",
        "description": "the account's subdomain, e.g. acme for acme.zendesk.com",
        "pattern": "[a-z0-9][a-z0-9-]{0,62}",
        "optional": false
      }
    },
    "revocation": {
      "url": "https://${connectionConfig.subdomain}.zendesk.com/api/v2/oauth/tokens/current.json",
      "method": "DELETE",
      "token": "access_token",
      "token_in": "none",
      "body_format": "form",
      "auth": "bearer_access_token",
      "headers": {},
      "send_token_type_hint": true
    },
    "key": "zendesk",
    "secret_name": "zendesk"
  },
  "mailchimp": {
    "display_name": "Mailchimp",
    "auth_mode": "OAUTH2",
    "docs": "https://mailchimp.com/developer/marketing/guides/access-user-data-oauth-2/",
    "authorization_url": "https://login.mailchimp.com/oauth2/authorize",
    "token_url": "https://login.mailchimp.com/oauth2/token",
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
    "body_format": "form",
    "token_request_method": "POST",
    "omit_grant_type": false,
    "token_response_metadata": [],
    "tenant_fields": [],
    "tenant_request": {
      "url": "https://login.mailchimp.com/oauth2/metadata",
      "method": "GET",
      "auth_scheme": "OAuth",
      "headers": {},
      "tenant_path": "user_id",
      "filter": {},
      "metadata": [
        "dc",
        "api_endpoint",
        "accountname"
      ]
    },
    "callback_metadata": [],
    "refresh_policy": "eager",
    "expires_in_zero": "never_expires",
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
    "transient_errors": [],
    "dead_grant_statuses": [],
    "rate_limit_scope": "account",
    "allow_stateless_callback": false,
    "allowed_secret_names": [],
    "connection_config": {},
    "key": "mailchimp",
    "secret_name": "mailchimp"
  },
  "quickbooks": {
    "display_name": "QuickBooks Online",
    "auth_mode": "OAUTH2",
    "docs": "https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0",
    "authorization_url": "https://appcenter.intuit.com/connect/oauth2",
    "token_url": "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
    "authorization_params": {},
    "token_params": {},
    "refresh_params": {},
    "token_headers": {},
    "scope_separator": " ",
    "default_scopes": [
      "com.intuit.quickbooks.accounting",
      "openid"
    ],
    "default_optional_scopes": [],
    "allowed_scopes": [],
    "granted_scopes_path": "scope",
    "disable_pkce": true,
    "token_request_auth_method": "basic",
    "body_format": "form",
    "token_request_method": "POST",
    "omit_grant_type": false,
    "token_response_metadata": [],
    "tenant_fields": [],
    "callback_metadata": [
      "realmId"
    ],
    "refresh_policy": "eager",
    "expires_in_zero": "minimum_lifetime",
    "refresh_token_expires_in_path": "x_refresh_token_expires_in",
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
    "transient_errors": [],
    "dead_grant_statuses": [],
    "rate_limit_scope": "account",
    "allow_stateless_callback": false,
    "allowed_secret_names": [],
    "oidc": {
      "issuer": "https://oauth.platform.intuit.com/op/v1",
      "issuer_aliases": [],
      "jwks_uri": "https://oauth.platform.intuit.com/op/v1/jwks",
      "tenant_claim": "realmid",
      "nonce": false,
      "id_token": "optional",
      "authorization_response_iss": "optional",
      "metadata_claims": []
    },
    "connection_config": {},
    "revocation": {
      "url": "https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
      "method": "POST",
      "token": "refresh_token",
      "token_in": "body",
      "body_format": "json",
      "auth": "basic",
      "headers": {},
      "send_token_type_hint": false
    },
    "key": "quickbooks",
    "secret_name": "quickbooks"
  },
  "xero": {
    "display_name": "Xero",
    "auth_mode": "OAUTH2",
    "docs": "https://developer.xero.com/documentation/guides/oauth2/auth-flow",
    "authorization_url": "https://login.xero.com/identity/connect/authorize",
    "token_url": "https://identity.xero.com/connect/token",
    "authorization_params": {},
    "token_params": {},
    "refresh_params": {},
    "token_headers": {},
    "scope_separator": " ",
    "default_scopes": [
      "openid",
      "profile",
      "email",
      "offline_access",
      "accounting.contacts"
    ],
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
    "tenant_request": {
      "url": "https://api.xero.com/connections",
      "method": "GET",
      "auth_scheme": "Bearer",
      "headers": {},
      "list_path": "$",
      "tenant_path": "tenantId",
      "filter": {
        "authEventId": {
          "access_token_claim": "authentication_event_id"
        }
      },
      "metadata": [
        "tenantName",
        "tenantType"
      ]
    },
    "callback_metadata": [],
    "refresh_policy": "eager",
    "expires_in_zero": "minimum_lifetime",
    "refresh_token_idle_ttl_s": 5184000,
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
    "transient_errors": [],
    "dead_grant_statuses": [],
    "rate_limit_scope": "account",
    "allow_stateless_callback": false,
    "allowed_secret_names": [],
    "connection_config": {},
    "revocation": {
      "url": "https://identity.xero.com/connect/revocation",
      "method": "POST",
      "token": "refresh_token",
      "token_in": "body",
      "body_format": "form",
      "auth": "basic",
      "headers": {},
      "send_token_type_hint": true
    },
    "key": "xero",
    "secret_name": "xero"
  },
  "notion": {
    "display_name": "Notion",
    "auth_mode": "OAUTH2",
    "docs": "https://developers.notion.com/docs/authorization",
    "authorization_url": "https://api.notion.com/v1/oauth/authorize",
    "token_url": "https://api.notion.com/v1/oauth/token",
    "authorization_params": {
      "owner": "user"
    },
    "token_params": {},
    "refresh_params": {},
    "token_headers": {
      "Notion-Version": "2025-09-03"
    },
    "scope_separator": " ",
    "default_scopes": [],
    "default_optional_scopes": [],
    "allowed_scopes": [],
    "granted_scopes_path": "scope",
    "disable_pkce": true,
    "token_request_auth_method": "basic",
    "body_format": "json",
    "token_request_method": "POST",
    "omit_grant_type": false,
    "token_response_metadata": [
      "workspace_id",
      "workspace_name",
      "bot_id",
      "owner.type"
    ],
    "tenant_fields": [
      "workspace_id"
    ],
    "callback_metadata": [],
    "refresh_policy": "eager",
    "expires_in_zero": "minimum_lifetime",
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
    "transient_errors": [],
    "dead_grant_statuses": [],
    "rate_limit_scope": "account",
    "allow_stateless_callback": false,
    "allowed_secret_names": [],
    "connection_config": {},
    "revocation": {
      "url": "https://api.notion.com/v1/oauth/revoke",
      "method": "POST",
      "token": "access_token",
      "token_in": "body",
      "body_format": "json",
      "auth": "basic",
      "headers": {
        "Notion-Version": "2025-09-03"
      },
      "send_token_type_hint": false
    },
    "key": "notion",
    "secret_name": "notion"
  }
};
