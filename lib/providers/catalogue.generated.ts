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
  },
  "salesforce": {
    "display_name": "Salesforce",
    "auth_mode": "OAUTH2",
    "docs": "https://help.salesforce.com/s/articleView?id=remoteaccess_oauth_web_server_flow.htm",
    "authorization_url": "https://login.salesforce.com/services/oauth2/authorize",
    "token_url": "https://login.salesforce.com/services/oauth2/token",
    "default_scopes": [
      "api",
      "refresh_token"
    ],
    "default_expires_in": 7200,
    "token_response_metadata": [
      "id"
    ],
    "tenant_fields": [
      "id"
    ],
    "tenant_pattern": "https://[^/]+/id/([A-Za-z0-9]{15,18})/[A-Za-z0-9]{15,18}",
    "connection_config": {
      "instance_url": {
        "title": "Instance URL",
        "description": "the org's own API host, from the token response (e.g. https://acme.my.salesforce.com)",
        "token_response_path": "instance_url",
        "pattern": "https://[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.salesforce\\.com"
      }
    },
    "revocation": {
      "url": "https://login.salesforce.com/services/oauth2/revoke",
      "token": "refresh_token",
      "auth": "none",
      "send_token_type_hint": false
    }
  },
  "pipedrive": {
    "display_name": "Pipedrive",
    "auth_mode": "OAUTH2",
    "docs": "https://pipedrive.readme.io/docs/marketplace-oauth-authorization",
    "authorization_url": "https://oauth.pipedrive.com/oauth/authorize",
    "token_url": "https://oauth.pipedrive.com/oauth/token",
    "token_request_auth_method": "basic",
    "disable_pkce": true,
    "allow_stateless_callback": true,
    "refresh_token_idle_ttl_s": 5184000,
    "connection_config": {
      "api_domain": {
        "title": "API domain",
        "description": "the company's API host, from the token response (e.g. https://acme.pipedrive.com)",
        "token_response_path": "api_domain",
        "pattern": "https://[a-z0-9][a-z0-9-]*\\.pipedrive\\.com"
      }
    },
    "tenant_request": {
      "url": "${connectionConfig.api_domain}/api/v1/users/me",
      "tenant_path": "data.company_id",
      "metadata": [
        "data.company_domain"
      ]
    },
    "revocation": {
      "url": "https://oauth.pipedrive.com/oauth/revoke",
      "token": "refresh_token",
      "auth": "basic"
    }
  },
  "zoho": {
    "display_name": "Zoho CRM",
    "auth_mode": "OAUTH2",
    "docs": "https://www.zoho.com/crm/developer/docs/api/v8/oauth-overview.html",
    "authorization_url": "https://accounts.zoho.com/oauth/v2/auth",
    "token_url": "${connectionConfig.accounts_server}/oauth/v2/token",
    "disable_pkce": true,
    "scope_separator": ",",
    "default_scopes": [
      "ZohoCRM.modules.ALL",
      "ZohoCRM.settings.READ",
      "ZohoCRM.org.READ"
    ],
    "authorization_params": {
      "access_type": "offline",
      "prompt": "consent"
    },
    "dead_grant_errors": [
      "invalid_code",
      "invalid_grant"
    ],
    "transient_errors": [
      "Access Denied"
    ],
    "callback_metadata": [
      "location"
    ],
    "connection_config": {
      "accounts_server": {
        "title": "Accounts server",
        "description": "the data centre's accounts server, from the callback's accounts-server parameter",
        "callback_param": "accounts-server",
        "default_value": "https://accounts.zoho.com",
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
        ]
      },
      "api_domain": {
        "title": "API domain",
        "description": "the data centre's API host, from the token response (e.g. https://www.zohoapis.eu)",
        "token_response_path": "api_domain",
        "pattern": "https://www\\.zohoapis\\.(com|eu|in|com\\.au|jp|ca|sa|uk|com\\.cn)"
      }
    },
    "tenant_request": {
      "url": "${connectionConfig.api_domain}/crm/v8/org",
      "auth_scheme": "Zoho-oauthtoken",
      "tenant_path": "org[0].id",
      "metadata": [
        "org[0].company_name",
        "org[0].domain_name"
      ]
    },
    "revocation": {
      "url": "${connectionConfig.accounts_server}/oauth/v2/token/revoke",
      "token": "refresh_token",
      "token_in": "query",
      "auth": "none",
      "send_token_type_hint": false
    }
  },
  "google": {
    "display_name": "Google",
    "auth_mode": "OAUTH2",
    "docs": "https://developers.google.com/identity/protocols/oauth2/web-server",
    "authorization_url": "https://accounts.google.com/o/oauth2/v2/auth",
    "token_url": "https://oauth2.googleapis.com/token",
    "default_scopes": [
      "openid",
      "email"
    ],
    "authorization_params": {
      "access_type": "offline",
      "prompt": "consent",
      "include_granted_scopes": "true"
    },
    "refresh_token_idle_ttl_s": 15552000,
    "dead_grant_errors": [
      "invalid_grant",
      "invalid_rapt"
    ],
    "oidc": {
      "issuer": "https://accounts.google.com",
      "issuer_aliases": [
        "accounts.google.com"
      ],
      "jwks_uri": "https://www.googleapis.com/oauth2/v3/certs",
      "tenant_claim": "sub",
      "metadata_claims": [
        "hd"
      ]
    },
    "revocation": {
      "url": "https://oauth2.googleapis.com/revoke",
      "token": "refresh_token",
      "auth": "none",
      "send_token_type_hint": false
    }
  },
  "microsoft": {
    "display_name": "Microsoft Entra ID",
    "auth_mode": "OAUTH2",
    "docs": "https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow",
    "authorization_url": "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize",
    "token_url": "https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
    "default_scopes": [
      "openid",
      "profile",
      "offline_access",
      "https://graph.microsoft.com/User.Read"
    ],
    "refresh_token_idle_ttl_s": 7776000,
    "dead_grant_errors": [
      "invalid_grant",
      "interaction_required"
    ],
    "transient_errors": [
      "temporarily_unavailable"
    ],
    "oidc": {
      "issuer": "https://login.microsoftonline.com/{tid}/v2.0",
      "jwks_uri": "https://login.microsoftonline.com/organizations/discovery/v2.0/keys",
      "tenant_claim": "tid"
    }
  },
  "slack": {
    "display_name": "Slack",
    "auth_mode": "OAUTH2",
    "docs": "https://docs.slack.dev/authentication/installing-with-oauth",
    "authorization_url": "https://slack.com/oauth/v2/authorize",
    "token_url": "https://slack.com/api/oauth.v2.access",
    "token_request_auth_method": "basic",
    "disable_pkce": true,
    "scope_separator": ",",
    "default_scopes": [
      "channels:read",
      "chat:write"
    ],
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
    "revocation": {
      "url": "https://slack.com/api/auth.revoke",
      "token": "access_token",
      "token_in": "none",
      "auth": "bearer_access_token"
    }
  },
  "shopify": {
    "display_name": "Shopify",
    "auth_mode": "OAUTH2",
    "docs": "https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant",
    "authorization_url": "https://${connectionConfig.shop}/admin/oauth/authorize",
    "token_url": "https://${connectionConfig.shop}/admin/oauth/access_token",
    "body_format": "json",
    "disable_pkce": true,
    "scope_separator": ",",
    "default_scopes": [
      "read_products"
    ],
    "token_params": {
      "expiring": "1"
    },
    "refresh_token_expires_in_path": "refresh_token_expires_in",
    "tenant_connection_config": "shop",
    "connection_config": {
      "shop": {
        "title": "Shop domain",
        "description": "the shop's myshopify.com domain, e.g. acme.myshopify.com",
        "pattern": "[a-zA-Z0-9][a-zA-Z0-9-]*\\.myshopify\\.com"
      }
    },
    "revocation": {
      "url": "https://${connectionConfig.shop}/admin/api_permissions/current.json",
      "method": "DELETE",
      "token": "access_token",
      "token_in": "none",
      "auth": "access_token_header",
      "auth_header": "X-Shopify-Access-Token"
    }
  },
  "zendesk": {
    "display_name": "Zendesk",
    "auth_mode": "OAUTH2",
    "docs": "https://developer.zendesk.com/documentation/api-basics/authentication/using-oauth-to-authenticate-zendesk-api-requests-in-an-app/",
    "authorization_url": "https://${connectionConfig.subdomain}.zendesk.com/oauth/authorizations/new",
    "token_url": "https://${connectionConfig.subdomain}.zendesk.com/oauth/tokens",
    "body_format": "json",
    "default_scopes": [
      "read"
    ],
    "refresh_token_expires_in_path": "refresh_token_expires_in",
    "tenant_connection_config": "subdomain",
    "connection_config": {
      "subdomain": {
        "title": "Zendesk subdomain",
        "description": "the account's subdomain, e.g. acme for acme.zendesk.com",
        "pattern": "[a-z0-9][a-z0-9-]{0,62}"
      }
    },
    "revocation": {
      "url": "https://${connectionConfig.subdomain}.zendesk.com/api/v2/oauth/tokens/current.json",
      "method": "DELETE",
      "token": "access_token",
      "token_in": "none",
      "auth": "bearer_access_token"
    }
  },
  "mailchimp": {
    "display_name": "Mailchimp",
    "auth_mode": "OAUTH2",
    "docs": "https://mailchimp.com/developer/marketing/guides/access-user-data-oauth-2/",
    "authorization_url": "https://login.mailchimp.com/oauth2/authorize",
    "token_url": "https://login.mailchimp.com/oauth2/token",
    "disable_pkce": true,
    "expires_in_zero": "never_expires",
    "tenant_request": {
      "url": "https://login.mailchimp.com/oauth2/metadata",
      "auth_scheme": "OAuth",
      "tenant_path": "user_id",
      "metadata": [
        "dc",
        "api_endpoint",
        "accountname"
      ]
    }
  },
  "quickbooks": {
    "display_name": "QuickBooks Online",
    "auth_mode": "OAUTH2",
    "docs": "https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0",
    "authorization_url": "https://appcenter.intuit.com/connect/oauth2",
    "token_url": "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
    "token_request_auth_method": "basic",
    "disable_pkce": true,
    "default_scopes": [
      "com.intuit.quickbooks.accounting",
      "openid"
    ],
    "refresh_token_expires_in_path": "x_refresh_token_expires_in",
    "callback_metadata": [
      "realmId"
    ],
    "oidc": {
      "issuer": "https://oauth.platform.intuit.com/op/v1",
      "jwks_uri": "https://oauth.platform.intuit.com/op/v1/jwks",
      "tenant_claim": "realmid",
      "nonce": false,
      "id_token": "optional"
    },
    "revocation": {
      "url": "https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
      "token": "refresh_token",
      "body_format": "json",
      "auth": "basic",
      "send_token_type_hint": false
    }
  },
  "xero": {
    "display_name": "Xero",
    "auth_mode": "OAUTH2",
    "docs": "https://developer.xero.com/documentation/guides/oauth2/auth-flow",
    "authorization_url": "https://login.xero.com/identity/connect/authorize",
    "token_url": "https://identity.xero.com/connect/token",
    "token_request_auth_method": "basic",
    "default_scopes": [
      "openid",
      "profile",
      "email",
      "offline_access",
      "accounting.contacts"
    ],
    "refresh_token_idle_ttl_s": 5184000,
    "tenant_request": {
      "url": "https://api.xero.com/connections",
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
    "revocation": {
      "url": "https://identity.xero.com/connect/revocation",
      "token": "refresh_token",
      "auth": "basic"
    }
  },
  "notion": {
    "display_name": "Notion",
    "auth_mode": "OAUTH2",
    "docs": "https://developers.notion.com/docs/authorization",
    "authorization_url": "https://api.notion.com/v1/oauth/authorize",
    "token_url": "https://api.notion.com/v1/oauth/token",
    "token_request_auth_method": "basic",
    "body_format": "json",
    "disable_pkce": true,
    "authorization_params": {
      "owner": "user"
    },
    "token_headers": {
      "Notion-Version": "2025-09-03"
    },
    "token_response_metadata": [
      "workspace_id",
      "workspace_name",
      "bot_id",
      "owner.type"
    ],
    "tenant_fields": [
      "workspace_id"
    ],
    "revocation": {
      "url": "https://api.notion.com/v1/oauth/revoke",
      "token": "access_token",
      "body_format": "json",
      "auth": "basic",
      "send_token_type_hint": false,
      "headers": {
        "Notion-Version": "2025-09-03"
      }
    }
  }
} as const;
