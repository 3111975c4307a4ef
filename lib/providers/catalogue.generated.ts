// Generated from lib/providers/catalogue.yaml by scripts/generate-catalogue.ts. Do not edit:
// change the YAML and run `npx tsx scripts/generate-catalogue.ts` (a unit test fails while they differ).
// Plain data, so a Lambda bundle carries the catalogue without reading a file at run time.

export const BUILTIN_CATALOGUE = {
  "hubspot": {
    "display_name": "HubSpot",
    "auth_mode": "OAUTH2",
    "docs": "https://developers.hubspot.com/docs/api-reference/legacy/authentication/oauth-tokens/v1/guide",
    "authorization_url": "https://app.hubspot.com/oauth/authorize",
    "token_url": "https://api.hubapi.com/oauth/v1/token",
    "default_scopes": [
      "oauth"
    ],
    "optional_scope_param": "optional_scope",
    "granted_scopes_path": "scopes",
    "token_response_metadata": [
      "hub_id"
    ],
    "tenant_fields": [
      "hub_id"
    ],
    "dead_grant_errors": [
      "invalid_grant",
      "BAD_REFRESH_TOKEN"
    ],
    "rate_limit_scope": "account",
    "revocation": {
      "url": "https://api.hubapi.com/oauth/v1/refresh-tokens/${token}",
      "method": "DELETE",
      "token": "refresh_token",
      "token_in": "path",
      "auth": "none",
      "send_token_type_hint": false
    }
  },
  "highlevel": {
    "display_name": "HighLevel",
    "auth_mode": "OAUTH2",
    "docs": "https://marketplace.gohighlevel.com/docs/oauth/Authorization",
    "authorization_url": "https://marketplace.gohighlevel.com/oauth/chooselocation",
    "token_url": "https://services.leadconnectorhq.com/oauth/token",
    "disable_pkce": true,
    "default_scopes": [
      "contacts.readonly",
      "locations.readonly"
    ],
    "allow_stateless_callback": true,
    "token_params": {
      "user_type": "Location"
    },
    "refresh_params": {
      "user_type": "Location"
    },
    "token_headers": {
      "Version": "2021-07-28"
    },
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
    "dead_grant_statuses": [
      401
    ],
    "dead_grant_errors": [
      "invalid_grant"
    ],
    "rate_limit_scope": "account"
  },
  "leadconnector": {
    "extends": "highlevel",
    "display_name": "LeadConnector (HighLevel white label)",
    "authorization_url": "https://marketplace.leadconnectorhq.com/oauth/chooselocation"
  },
  "rdstation": {
    "display_name": "RD Station Marketing",
    "auth_mode": "OAUTH2",
    "docs": "https://developers.rdstation.com/reference/autenticacao",
    "authorization_url": "https://api.rd.services/auth/dialog",
    "token_url": "https://api.rd.services/auth/token",
    "body_format": "json",
    "omit_grant_type": true,
    "default_token_type": "bearer",
    "default_expires_in": 86400,
    "disable_pkce": true,
    "dead_grant_errors": [
      "invalid_grant",
      "INVALID_REFRESH_TOKEN"
    ],
    "revocation": {
      "url": "https://api.rd.services/auth/revoke",
      "method": "POST",
      "token": "access_token",
      "token_in": "body",
      "auth": "bearer_access_token",
      "send_token_type_hint": true
    }
  },
  "fracttal": {
    "display_name": "Fracttal",
    "auth_mode": "OAUTH2",
    "docs": "https://api.fracttal.com/v2-En/reference/oauth-20",
    "authorization_url": "https://one.fracttal.com/oauth/authorize",
    "token_url": "https://one.fracttal.com/oauth/token",
    "default_expires_in": 7200
  },
  "fracttal-cc": {
    "display_name": "Fracttal (client credentials)",
    "auth_mode": "OAUTH2_CC",
    "docs": "https://api.fracttal.com/v2-En/reference/oauth-20",
    "token_url": "https://one.fracttal.com/oauth/token",
    "token_request_auth_method": "basic",
    "default_expires_in": 7200,
    "dead_grant_errors": [
      "invalid_client",
      "unauthorized_client",
      "invalid_grant"
    ]
  },
  "marketo": {
    "display_name": "Marketo Engage",
    "auth_mode": "OAUTH2_CC",
    "docs": "https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/authentication",
    "token_url": "${connectionConfig.identity_url}/oauth/token",
    "token_request_method": "GET",
    "body_format": "query",
    "default_expires_in": 3600,
    "dead_grant_statuses": [
      401
    ],
    "dead_grant_errors": [
      "invalid_client",
      "unauthorized"
    ],
    "allowed_secret_names": [
      "marketo/*"
    ],
    "connection_config": {
      "identity_url": {
        "title": "Identity URL",
        "description": "Admin > Integration > Web Services > REST API, e.g. https://284-RPR-133.mktorest.com/identity",
        "pattern": "https://[0-9A-Za-z-]+\\.mktorest\\.com/identity/?"
      }
    }
  },
  "sandbox": {
    "display_name": "Sandbox (local oidc-provider)",
    "auth_mode": "OAUTH2",
    "docs": "https://github.com/panva/node-oidc-provider",
    "authorization_url": "http://127.0.0.1:3001/auth",
    "token_url": "http://127.0.0.1:3001/token",
    "default_scopes": [
      "openid",
      "offline_access",
      "contacts.read"
    ],
    "authorization_params": {
      "prompt": "consent"
    },
    "token_response_metadata": [],
    "oidc": {
      "issuer": "http://127.0.0.1:3001",
      "jwks_uri": "http://127.0.0.1:3001/jwks",
      "tenant_claim": "sub",
      "authorization_response_iss": "required"
    },
    "revocation": {
      "url": "http://127.0.0.1:3001/token/revocation",
      "method": "POST",
      "auth": "client_secret_post"
    }
  },
  "sandbox-cc": {
    "display_name": "Sandbox (client credentials)",
    "auth_mode": "OAUTH2_CC",
    "docs": "https://github.com/panva/node-oidc-provider",
    "token_url": "http://127.0.0.1:3001/token",
    "secret_name": "sandbox",
    "default_scopes": [
      "contacts.read"
    ],
    "dead_grant_errors": [
      "invalid_client",
      "unauthorized_client"
    ]
  }
} as const;
