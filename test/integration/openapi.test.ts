/**
 * The admin API's OpenAPI 3.1 document (docs/openapi.json, shipped as
 * `oauth-token-broker/openapi.json`) against the code: it is a valid OpenAPI 3.1 document, it
 * has exactly the admin routes of the routes table, its generated files are current, and the
 * real handlers' responses — success and error, over HTTP through the local broker — validate
 * against the schema of their status (ajv, JSON Schema 2020-12, with ajv-formats).
 */
import { readFileSync } from 'node:fs';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_STATUS } from '../../lib/errors';
import { CONNECTION_ID_PATTERN, PROVIDER_KEY_PATTERN_SOURCE } from '../../lib/http/openapi';
import { ROUTES, routeKey } from '../../lib/http/routes';
import type { ConnectionRecord } from '../../lib/model';
import { PROVIDER_KEY_PATTERN } from '../../lib/providers/lookup';
import { OPENAPI_JSON_PATH, OPENAPI_TYPES_PATH, renderOpenApiJson, renderOpenApiTypes } from '../../scripts/generate-openapi';
import { fetchCallback, followInstall } from '../support/browserless-consent';
import { signedInstallUrl, startTestBroker, type LocalFixture } from '../support/local-broker';

type Json = Record<string, any>;
const doc = JSON.parse(readFileSync(OPENAPI_JSON_PATH, 'utf8')) as Json;

/** ajv over the document's component schemas: `#/components/schemas/X` becomes `components#/$defs/X`. */
const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
addFormats(ajv);
const rewriteRefs = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(rewriteRefs)
    : value !== null && typeof value === 'object'
      ? Object.fromEntries(
          Object.entries(value).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' ? v.replace('#/components/schemas/', 'components#/$defs/') : rewriteRefs(v)]),
        )
      : value;
ajv.addSchema({ $id: 'components', $defs: rewriteRefs(doc.components.schemas) });

/** Which (operation, status) pairs real responses were checked against. */
const checked = new Set<string>();

let fixture: LocalFixture;
let admin: Record<string, string>;

/** Calls the local broker and validates the response against the spec's schema for its status. */
async function call(method: string, template: string, path: string, init: { body?: unknown; auth?: boolean } = {}): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${fixture.local.url}${path}`, {
    method,
    headers: { ...(init.auth === false ? {} : admin), ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const body = (await res.json()) as Json;
  const operation = doc.paths[template]?.[method.toLowerCase()] as Json | undefined;
  expect(operation, `${method} ${template} in the spec`).toBeDefined();
  const response = operation?.responses[String(res.status)] as Json | undefined;
  expect(response, `${method} ${template} documents ${res.status} (${JSON.stringify(body).slice(0, 200)})`).toBeDefined();
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const validate = ajv.compile(rewriteRefs(response?.content['application/json'].schema) as object);
  expect(validate(body) ? [] : validate.errors, `${method} ${path} → ${res.status}: ${JSON.stringify(body).slice(0, 300)}`).toEqual([]);
  checked.add(`${method} ${template} ${res.status}`);
  return { status: res.status, body };
}

function record(id: string, overrides: Partial<ConnectionRecord>): ConnectionRecord {
  const now = Date.now();
  return { id, provider: 'sandbox', authMode: 'OAUTH2', status: 'active', scopes: [], sealed: 'x', tokenGen: 1, version: 1, failureCount: 0, createdAt: now, updatedAt: now, ...overrides };
}

beforeAll(async () => {
  fixture = await startTestBroker({ config: { returnToAllowlist: ['https://app.example.com'] } });
  admin = { authorization: `Bearer ${fixture.local.adminKey}` };
  const { callbackUrl, jar } = await followInstall(await signedInstallUrl(fixture.local, 'spec-installed'));
  expect((await fetchCallback({ callbackUrl, jar })).status).toBe(200);
  const store = fixture.local.broker.ctx.store;
  await store.create(
    record('spec-dead', { status: 'needs_reauth', lastError: { code: 'needs_reauth', message: 'The provider rejected the grant', providerCode: 'invalid_grant', at: Date.now() } }),
  );
  await store.create(record('spec-failing', { tenant: 't-1', failureCount: 2, lastError: { code: 'provider_unavailable', message: 'HTTP 503', at: Date.now() }, metadata: { a: 'b' } }));
});
afterAll(async () => {
  await fixture?.close();
});

describe('the document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('has exactly the admin routes of the routes table (lib/http/routes.ts), no public route and no other', () => {
    const inSpec = Object.entries(doc.paths as Json).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    const admin = ROUTES.filter((r) => r.auth === 'admin').map((r) => routeKey(r));
    expect(inSpec.sort()).toEqual([...admin].sort());
  });

  it('documents every error code of lib/errors.ts, and the same id and provider-key rules as the code', () => {
    expect(doc.components.schemas.ErrorCode.enum.sort()).toEqual(Object.keys(ERROR_STATUS).sort());
    expect(PROVIDER_KEY_PATTERN_SOURCE).toBe(PROVIDER_KEY_PATTERN.source);
    for (const id of ['a', 'hubspot:123', 'x'.repeat(128)]) expect(new RegExp(CONNECTION_ID_PATTERN).test(id)).toBe(true);
    for (const id of ['', 'a/b', 'x'.repeat(129), 'a b', '.', '..']) expect(new RegExp(CONNECTION_ID_PATTERN).test(id)).toBe(false);
  });

  it('docs/openapi.json and the client types are what scripts/generate-openapi.ts renders (run it if this fails)', async () => {
    expect(readFileSync(OPENAPI_JSON_PATH, 'utf8')).toBe(renderOpenApiJson());
    expect(readFileSync(OPENAPI_TYPES_PATH, 'utf8')).toBe(await renderOpenApiTypes());
  });
});

describe('real responses validate against the spec', () => {
  it('GET /connections: a page, a filtered page with its cursor, a bad filter, no credentials', async () => {
    const all = await call('GET', '/connections', '/connections');
    expect(all.body.connections.map((c: Json) => c.id)).toEqual(expect.arrayContaining(['spec-installed', 'spec-dead', 'spec-failing']));
    const page = await call('GET', '/connections', '/connections?provider=sandbox&status=active&limit=1');
    expect(page.body.cursor).toEqual(expect.any(String));
    expect((await call('GET', '/connections', '/connections?status=bogus')).status).toBe(400);
    expect((await call('GET', '/connections', '/connections', { auth: false })).status).toBe(401);
  });

  it('GET /connections/{id}: found, with and without a last error; not found; a malformed id', async () => {
    expect((await call('GET', '/connections/{id}', '/connections/spec-installed')).body.connection.expires_at).toEqual(expect.any(String));
    expect((await call('GET', '/connections/{id}', '/connections/spec-failing')).body.connection.last_error).toMatchObject({ code: 'provider_unavailable' });
    expect((await call('GET', '/connections/{id}', '/connections/nope')).status).toBe(404);
    expect((await call('GET', '/connections/{id}', '/connections/a%20b')).status).toBe(400);
  });

  it('POST /connections/{id}/token: a token, a forced refresh, a bad body, a dead grant (424), unknown (404)', async () => {
    expect((await call('POST', '/connections/{id}/token', '/connections/spec-installed/token')).body.access_token).toEqual(expect.any(String));
    expect((await call('POST', '/connections/{id}/token', '/connections/spec-installed/token', { body: { force_refresh: true } })).status).toBe(200);
    expect((await call('POST', '/connections/{id}/token', '/connections/spec-installed/token', { body: { force_refresh: 'yes' } })).status).toBe(400);
    expect((await call('POST', '/connections/{id}/token', '/connections/spec-dead/token')).status).toBe(424);
    expect((await call('POST', '/connections/{id}/token', '/connections/nope/token')).status).toBe(404);
  });

  it('PUT /connections/{id}: registered, refused credentials (400), an unknown provider (404)', async () => {
    expect((await call('PUT', '/connections/{id}', '/connections/spec-cc', { body: { provider: 'sandbox-cc' } })).body.connection.auth_mode).toBe('OAUTH2_CC');
    const refused = await call('PUT', '/connections/{id}', '/connections/spec-cc2', {
      body: { provider: 'sandbox-cc', credentials: { client_id: 'sandbox-app', client_secret: 'wrong' } },
    });
    expect(refused.status).toBe(400);
    expect((await call('PUT', '/connections/{id}', '/connections/spec-cc3', { body: { provider: 'nope' } })).status).toBe(404);
  });

  it('DELETE /connections/{id}: revoked at the provider; the token route then answers 410; unknown (404)', async () => {
    expect((await call('DELETE', '/connections/{id}', '/connections/spec-installed')).body).toMatchObject({ provider_revocation: 'revoked' });
    expect((await call('POST', '/connections/{id}/token', '/connections/spec-installed/token')).status).toBe(410);
    expect((await call('DELETE', '/connections/{id}', '/connections/nope')).status).toBe(404);
  });

  it('POST /install-links: a signed link (201); a return_to off the allowlist (400); an unknown provider (404)', async () => {
    const link = await call('POST', '/install-links', '/install-links', { body: { provider: 'sandbox', connection_id: 'spec-linked', return_to: 'https://app.example.com/done' } });
    expect(link.status).toBe(201);
    expect(link.body.url).toMatch(/\/oauth\/sandbox\/install\?/);
    expect((await call('POST', '/install-links', '/install-links', { body: { provider: 'sandbox', return_to: 'https://evil.example' } })).status).toBe(400);
    expect((await call('POST', '/install-links', '/install-links', { body: { provider: 'nope' } })).status).toBe(404);
  });

  it('GET /providers: the list; a query parameter it does not take (400)', async () => {
    expect((await call('GET', '/providers', '/providers')).body.providers.length).toBeGreaterThan(3);
    expect((await call('GET', '/providers', '/providers?x=1')).status).toBe(400);
  });

  it('GET /connections and GET /connections/{id} with odd stored data: invalid_fields, unreadable (issue 9, defect 5)', async () => {
    const store = fixture.local.broker.ctx.store;
    await store.create(record('spec-odd', { expiresAt: 8_700_000_000_000_000 }));
    await fixture.local.dynamoClient.send(
      new PutItemCommand({ TableName: fixture.local.tableName, Item: { pk: { S: 'conn#spec-broken' }, kind: { S: 'connection' }, id: { S: 'spec-broken' }, status: { S: 'exploded' } } }),
    );
    const odd = await call('GET', '/connections/{id}', '/connections/spec-odd');
    expect(odd.body.connection).toMatchObject({ expires_at: null, invalid_fields: ['expires_at'] });
    const list = await call('GET', '/connections', '/connections?limit=500');
    expect(list.body.unreadable).toEqual([{ id: 'spec-broken', reason: expect.any(String) }]);
  });

  it('checked a success response of every operation in the spec', () => {
    for (const [path, methods] of Object.entries(doc.paths as Json)) {
      for (const method of Object.keys(methods)) {
        expect([...checked].some((c) => c.startsWith(`${method.toUpperCase()} ${path} 2`)), `${method.toUpperCase()} ${path}`).toBe(true);
      }
    }
  });
});
