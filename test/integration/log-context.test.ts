/**
 * Every handler's log lines carry the Lambda context and a correlation id (Powertools
 * `injectLambdaContext` + `setCorrelationId`, lib/logger.ts `logContext`), refusals name their
 * route and provider, and nothing of one invocation leaks into the next. The handlers are called
 * as Lambda calls them, with an API Gateway v2 event, a scheduled event or a direct invoke.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context, ScheduledEvent, SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAdminHandler } from '../../functions/admin';
import { createAuthorizeHandler } from '../../functions/authorize';
import { createGetTokenHandler } from '../../functions/get-token';
import { createRefreshSchedulerHandler } from '../../functions/refresh-scheduler';
import { createRefreshWorkerHandler } from '../../functions/refresh-worker';
import { MemoryRefreshQueue } from '../../lib/adapters/memory-refresh-queue';
import { lambdaContext } from '../../lib/local/server';
import { captureLogs, type CapturedLogs } from '../support/logs';
import { startTestBroker, type LocalFixture } from '../support/local-broker';

let fixture: LocalFixture;
let logs: CapturedLogs | undefined;

beforeAll(async () => {
  fixture = await startTestBroker();
});
afterAll(async () => {
  await fixture?.close();
});
afterEach(() => {
  logs?.restore();
  logs = undefined;
});

const broker = async () => fixture.local.broker;

/** An API Gateway HTTP API (payload 2.0) event for `routeKey`, as API Gateway sends it. */
function httpEvent(routeKey: string, rawPath: string, extra: Partial<APIGatewayProxyEventV2> = {}): APIGatewayProxyEventV2 {
  const [method] = routeKey.split(' ');
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: '',
    headers: { host: 'broker.example', accept: 'application/json', ...extra.headers },
    requestContext: {
      accountId: '1',
      apiId: 'api',
      domainName: 'broker.example',
      domainPrefix: 'broker',
      http: { method: method!, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'test' },
      requestId: `apigw-${randomUUID()}`,
      routeKey,
      stage: '$default',
      time: '',
      timeEpoch: 0,
    },
    isBase64Encoded: false,
    ...extra,
  } as APIGatewayProxyEventV2;
}

function context(): Context {
  return { ...lambdaContext(), functionName: 'broker-authorize', awsRequestId: `lambda-${randomUUID()}` };
}

describe('HTTP handlers', () => {
  it('a refused install logs route, provider, the Lambda context and the API Gateway request id as correlation id; the response echoes it', async () => {
    logs = captureLogs();
    const event = httpEvent('GET /oauth/{provider}/install', '/oauth/nosuch/install', { pathParameters: { provider: 'nosuch' } });
    const ctx = context();
    const response = await createAuthorizeHandler(broker)(event, ctx);
    expect(response.statusCode).toBe(404);
    expect(response.headers['x-correlation-id']).toBe(event.requestContext.requestId);
    const [line] = logs.withMessage('request refused');
    expect(line).toMatchObject({
      level: 'INFO',
      code: 'unknown_provider',
      status: 404,
      route: 'GET /oauth/{provider}/install',
      provider: 'nosuch',
      correlation_id: event.requestContext.requestId,
      function_name: 'broker-authorize',
      function_request_id: ctx.awsRequestId,
      cold_start: expect.any(Boolean),
    });
  });

  it('a public route ignores a caller\'s x-correlation-id (a stranger cannot choose the reference)', async () => {
    logs = captureLogs();
    const event = httpEvent('GET /oauth/{provider}/install', '/oauth/nosuch/install', { pathParameters: { provider: 'nosuch' }, headers: { 'x-correlation-id': 'chosen-by-stranger' } });
    const response = await createAuthorizeHandler(broker)(event, context());
    expect(response.headers['x-correlation-id']).toBe(event.requestContext.requestId);
    expect(logs.withMessage('request refused')[0]?.correlation_id).toBe(event.requestContext.requestId);
  });

  it('an admin route takes the caller\'s well-formed x-correlation-id, and refuses a malformed one in favour of its own', async () => {
    logs = captureLogs();
    const admin = createAdminHandler(broker);
    const named = httpEvent('GET /connections/{id}', '/connections/nope', { pathParameters: { id: 'nope' }, headers: { 'x-correlation-id': 'job-42.sync:7' } });
    expect((await admin(named, context())).headers['x-correlation-id']).toBe('job-42.sync:7');
    const malformed = httpEvent('GET /connections/{id}', '/connections/nope', { pathParameters: { id: 'nope' }, headers: { 'x-correlation-id': 'has spaces "and quotes"' } });
    expect((await admin(malformed, context())).headers['x-correlation-id']).toBe(malformed.requestContext.requestId);
    expect(logs.withMessage('request refused').map((line) => [line.correlation_id, line.route, line.code])).toEqual([
      ['job-42.sync:7', 'GET /connections/{id}', 'connection_not_found'],
      [malformed.requestContext.requestId, 'GET /connections/{id}', 'connection_not_found'],
    ]);
  });

  it('keys do not leak from one invocation into the next', async () => {
    logs = captureLogs();
    const authorize = createAuthorizeHandler(broker);
    const first = httpEvent('GET /oauth/{provider}/install', '/oauth/a/install', { pathParameters: { provider: 'a' } });
    const second = httpEvent('GET /oauth/{provider}/install', '/oauth/b/install', { pathParameters: { provider: 'b' } });
    const [ctx1, ctx2] = [context(), context()];
    await authorize(first, ctx1);
    await authorize(second, ctx2);
    expect(logs.withMessage('request refused').map((line) => [line.provider, line.correlation_id, line.function_request_id])).toEqual([
      ['a', first.requestContext.requestId, ctx1.awsRequestId],
      ['b', second.requestContext.requestId, ctx2.awsRequestId],
    ]);
    // A key appended during one invocation (none of ours does yet; Powertools' appendKeys would) is
    // gone from the next one's lines: what resetKeys buys, and what the lines above cannot show.
    let invocation = 0;
    const probe = createAuthorizeHandler(async () => {
      const { logger } = await import('../../lib/logger');
      if (invocation++ === 0) logger.appendKeys({ leaked_tenant: 'tenant-of-the-first-request' });
      logger.info('key probe');
      return fixture.local.broker;
    });
    await probe(first, context());
    await probe(second, context());
    const seen = (request: APIGatewayProxyEventV2) => new Set(logs!.withMessage('key probe').filter((line) => line.correlation_id === request.requestContext.requestId).map((line) => line.leaked_tenant));
    expect(seen(first)).toEqual(new Set(['tenant-of-the-first-request']));
    expect(seen(second)).toEqual(new Set([undefined]));
  });
});

describe('the get-token, refresh scheduler and refresh worker functions', () => {
  it('get-token: the caller\'s correlation_id, else the invocation\'s request id', async () => {
    logs = captureLogs();
    const ctx = context();
    // Lines written while the handler runs (not-found is a result, not a log line): each invocation's all carry its id.
    const probe = createGetTokenHandler(async () => {
      const { logger } = await import('../../lib/logger');
      logger.info('probe');
      return fixture.local.broker;
    });
    const lines: unknown[][] = [];
    for (const correlation of ['worker-8', 'not ok!', undefined]) {
      const before = logs.withMessage('probe').length;
      await probe({ connection_id: 'nope', ...(correlation ? { correlation_id: correlation } : {}) } as never, ctx);
      lines.push([...new Set(logs.withMessage('probe').slice(before).map((line) => line.correlation_id))]);
    }
    expect(lines).toEqual([['worker-8'], [ctx.awsRequestId], [ctx.awsRequestId]]);
  });

  it('refresh scheduler: the schedule event\'s id, so an EventBridge event finds its run\'s lines', async () => {
    logs = captureLogs();
    const event = { id: 'evt-1234', 'detail-type': 'Scheduled Event', source: 'aws.events' } as ScheduledEvent;
    const scheduler = createRefreshSchedulerHandler(async () => {
      const { logger } = await import('../../lib/logger');
      logger.info('probe');
      return fixture.local.broker;
    }, () => new MemoryRefreshQueue({ clock: fixture.clock }));
    await scheduler(event, context());
    expect(logs.withMessage('probe')[0]).toMatchObject({ correlation_id: 'evt-1234', function_name: 'broker-authorize' });
    expect(logs.withMessage('refresh scheduler finished')[0]).toMatchObject({ correlation_id: 'evt-1234' });
  });

  it('refresh worker: the invocation\'s request id on the batch\'s lines', async () => {
    logs = captureLogs();
    const ctx = context();
    const worker = createRefreshWorkerHandler(async () => fixture.local.broker, { workers: () => 1 });
    await worker({ Records: [] } as SQSEvent, ctx);
    expect(logs.withMessage('refresh worker batch')[0]).toMatchObject({ correlation_id: ctx.awsRequestId, function_request_id: ctx.awsRequestId });
  });
});

/**
 * The local server (`npm start`) answers some requests itself, as API Gateway does on AWS: a path
 * no route matches (404) and an admin route without the key (401). No handler runs for them, so
 * nothing put their own ids on the logger: their lines carried the keys the previous request's
 * handler left (its Lambda context's request id, and its correlation id while it was still running).
 */
describe('the local server\'s own lines', () => {
  const refusal = (reason: RegExp) => logs!.withMessage('request refused').filter((line) => typeof line.reason === 'string' && reason.test(line.reason));

  it('a 404 for no route and a 401 without the admin key carry their own request\'s id, never the request before', async () => {
    logs = captureLogs();
    const handled = await fetch(`${fixture.local.url}/oauth/nosuch/install`, { headers: { accept: 'application/json' } });
    expect(handled.status).toBe(404);
    const [before] = logs.withMessage('request refused');
    expect(before).toMatchObject({ code: 'unknown_provider', correlation_id: handled.headers.get('x-correlation-id'), function_request_id: expect.any(String) });

    const noRoute = await fetch(`${fixture.local.url}/no/such/route`);
    const noKey = await fetch(`${fixture.local.url}/connections`);
    expect([noRoute.status, noKey.status]).toEqual([404, 401]);
    const [noRouteLine] = refusal(/^No route GET \/no\/such\/route$/);
    const [noKeyLine] = refusal(/^Admin routes need/);
    for (const [line, response] of [[noRouteLine, noRoute], [noKeyLine, noKey]] as const) {
      expect(line).toBeDefined();
      // No function ran for it: no Lambda context at all, let alone the previous invocation's.
      expect(line!.function_request_id).toBeUndefined();
      expect(line!.correlation_id).not.toBe(before!.correlation_id);
      expect(line!.correlation_id).toEqual(expect.any(String));
      expect(line!.correlation_id).toBe(response.headers.get('x-correlation-id'));
    }
    expect(noRouteLine!.correlation_id).not.toBe(noKeyLine!.correlation_id);
  });
});

