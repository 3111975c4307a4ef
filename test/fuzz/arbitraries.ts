/**
 * fast-check arbitraries for the fuzz tests: hostile text, provider answers (token responses,
 * error bodies in every nesting providers use, Retry-After values), API Gateway v2 events.
 */
import fc from 'fast-check';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { ProviderAnswer } from '../support/fuzz';

/** Text a hostile or careless client sends: random, empty, percent garbage, control characters, very long, prototype names. */
export const hostileText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('', ' ', '%', '%E0%A4%A', '%00', '../..', '\u0000', '\r\n', '<script>alert(1)</script>', '__proto__', 'constructor', 'a'.repeat(3000), '😀', 'null', '{}'),
  },
);

/** Values a header may carry (printable ASCII: `Response` refuses anything else). */
export const headerText: fc.Arbitrary<string> = hostileText.map((s) => s.replace(/[^\x20-\x7e]/g, '').slice(0, 500));

/** What a provider may echo of the request (resolved by the stand-in provider), in the fields where echoes happen. */
const echoed = fc.constantFrom('$SECRET', '$REFRESH', '$CODE', '$VERIFIER', 'x $SECRET y', 'code=$CODE&x=1');

const providerCode = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('invalid_grant', 'INVALID_REFRESH_TOKEN', 'invalid_client', 'invalid_request', 'server_error', 'temporarily_unavailable', 'access_denied', 'BAD_REFRESH_TOKEN') },
  { weight: 2, arbitrary: echoed },
  { weight: 2, arbitrary: hostileText },
  { weight: 1, arbitrary: fc.jsonValue() },
);

/** Error bodies in the shapes providers use: RFC 6749 `error`, RD Station `errors.error_type`, `errors[0].code`, `error.code`, HubSpot `status`, bare `code`. */
export const errorBody: fc.Arbitrary<string> = fc
  .oneof(
    fc.record({ error: providerCode, error_description: fc.oneof(echoed, hostileText) }, { requiredKeys: ['error'] }),
    fc.record({ errors: fc.record({ error_type: providerCode, error_message: fc.oneof(echoed, hostileText) }) }),
    fc.record({ errors: fc.array(fc.record({ code: providerCode, error_type: providerCode }, { requiredKeys: [] }), { maxLength: 2 }) }),
    fc.record({ error: fc.record({ code: providerCode, message: echoed }) }),
    fc.record({ status: providerCode, message: echoed }),
    fc.record({ code: providerCode }),
  )
  .map((body) => JSON.stringify(body));

const anything = fc.oneof(fc.jsonValue(), echoed);

/** Bodies shaped like token responses, every field possibly wrong (never a secret where the broker keeps values as metadata). */
export const tokenBody: fc.Arbitrary<string> = fc
  .record(
    {
      access_token: fc.oneof(fc.constant('at-from-fuzzed-answer'), fc.constant(''), fc.jsonValue()),
      token_type: fc.oneof(fc.constantFrom('Bearer', 'bearer', 'mac', ''), fc.jsonValue()),
      expires_in: fc.oneof(
        fc.constantFrom(0, -1, 1, 3600, 8_700_000_000_000, 1e300, '3600', '-5', 'soon', '1e999', null),
        fc.double(),
        fc.integer(),
      ),
      refresh_token: fc.oneof(fc.constant('rt-from-fuzzed-answer'), fc.constantFrom('', null), fc.jsonValue()),
      id_token: fc.oneof(fc.constant('idt-from-fuzzed-answer'), fc.jsonValue()),
      scope: fc.oneof(fc.constantFrom('read write', 'read,write', ''), fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }), fc.jsonValue()),
      account_id: fc.oneof(fc.constantFrom('acct-1', 'acct-2', 'acct:with:colons', 'x'.repeat(200), ''), fc.jsonValue()),
      error: providerCode,
    },
    { requiredKeys: [] },
  )
  .map((body) => JSON.stringify(body));

/** Retry-After values: seconds, absurd seconds, HTTP dates, garbage. */
export const retryAfter: fc.Arbitrary<string> = fc.oneof(
  fc.nat().map(String),
  fc.constantFrom('0', '-1', '1.5', '9'.repeat(400), '99999999999999999999', ' 120 ', 'Wed, 21 Oct 2015 07:28:00 GMT', 'Fri, 31 Dec 9999 23:59:59 GMT'),
  fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
  headerText,
);

export const providerStatus: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(200, 201, 204, 301, 302, 400, 401, 403, 404, 409, 429, 500, 502, 503, 504),
  fc.integer({ min: 200, max: 599 }),
);

/** One provider answer: good, a transport failure, a body that breaks mid-read, or any HTTP answer. */
export const providerAnswer: fc.Arbitrary<ProviderAnswer> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('good' as const), tenant: fc.constantFrom('acct-1', 'acct-2', 'acct-new', 'a/b c') }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'network' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'unreadable-body' as const }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('http' as const),
      status: providerStatus,
      headers: fc.record({ 'retry-after': retryAfter, 'content-type': fc.constantFrom('application/json', 'text/html', 'text/plain') }, { requiredKeys: [] }),
      body: fc.oneof(tokenBody, tokenBody, errorBody, errorBody, fc.string(), fc.json(), fc.constant(''), fc.constant('<html>502 Bad Gateway</html>')),
    }),
  },
);

/** The answers the provider gives to one request's calls (a good answer once they run out). */
export const providerScript: fc.Arbitrary<ProviderAnswer[]> = fc.array(providerAnswer, { maxLength: 3 });

/** Request headers of a browser, an API client or a hostile client. */
export const requestHeaders: fc.Arbitrary<Record<string, string>> = fc.record(
  {
    accept: fc.oneof(fc.constantFrom('application/json', 'text/html', '*/*', 'application/json, text/html'), headerText),
    host: fc.oneof(fc.constant('broker.fuzz'), headerText),
    'x-forwarded-proto': fc.oneof(fc.constantFrom('https', 'http'), headerText),
    'content-type': fc.constantFrom('application/json', 'text/plain'),
  },
  { requiredKeys: [] },
);

/** A query string's parameters, mixing names the broker reads with any others. */
export function queryOf(known: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<Record<string, string> | undefined> {
  return fc.option(
    fc.tuple(fc.record(known, { requiredKeys: [] }), fc.dictionary(fc.string({ maxLength: 8 }), hostileText, { maxKeys: 2 })).map(([named, other]) => ({ ...other, ...named }) as Record<string, string>),
    { nil: undefined },
  );
}

/** An API Gateway HTTP API (payload 2.0) event, as the local server and API Gateway build them. */
export function apiEvent(request: {
  routeKey: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
}): APIGatewayProxyEventV2 {
  const [method = 'GET', path = '/'] = request.routeKey.split(' ');
  const headers = request.headers ?? {};
  return {
    version: '2.0',
    routeKey: request.routeKey,
    rawPath: path,
    rawQueryString: new URLSearchParams(request.query ?? {}).toString(),
    headers,
    queryStringParameters: request.query,
    pathParameters: request.pathParameters,
    body: request.body,
    isBase64Encoded: request.isBase64Encoded ?? false,
    requestContext: {
      accountId: 'fuzz',
      apiId: 'fuzz',
      domainName: 'broker.fuzz',
      domainPrefix: 'broker',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'fuzz' },
      requestId: 'fuzz-request',
      routeKey: request.routeKey,
      stage: '$default',
      time: new Date(0).toISOString(),
      timeEpoch: 0,
    },
  };
}
