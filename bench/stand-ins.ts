/**
 * Stand-ins for the libraries a handler bundle carries beyond the SDK, for one question only: how
 * much of the handlers' cold start over the SDK-only baseline is theirs? `BENCH_BUNDLES_WITHOUT=
 * logger,jose,parameters,metrics npm run bench -- bundles` builds each handler a second time with the
 * named packages replaced by the smallest code that answers the bench's first-use events (a logger
 * that writes one JSON line, a secrets provider that fetches nothing...) and measures those bundles in
 * the same rounds. Never deployed and never a proposal: the stand-ins drop what the libraries are for
 * (log levels and sampling, EMF validation, secret caching, JWT verification).
 */

/** One package specifier's replacement, as JavaScript (the bench bundles it in place of the package). */
export type StandIns = Readonly<Record<string, string>>;

/** Powertools Logger: the methods the broker calls, writing the line the handlers' logs carry. */
const LOGGER = `export class Logger {
  #keys = {};
  #service;
  constructor(options = {}) { this.#service = options.serviceName; }
  addContext(context) { this.#keys.function_name = context.functionName; this.#keys.function_request_id = context.awsRequestId; }
  setCorrelationId(id) { this.#keys.correlation_id = id; }
  resetKeys() { this.#keys = {}; }
  #write(level, message, extra) { process.stdout.write(JSON.stringify({ level, message, timestamp: new Date().toISOString(), service: this.#service, ...this.#keys, ...extra }) + '\\n'); }
  info(message, extra) { this.#write('INFO', message, extra); }
  warn(message, extra) { this.#write('WARN', message, extra); }
  error(message, extra) { this.#write('ERROR', message, extra); }
}
`;

const LOGGER_MIDDLEWARE = `export const injectLambdaContext = (logger) => ({
  before: (request) => logger.addContext(request.context),
  after: () => logger.resetKeys(),
  onError: () => logger.resetKeys(),
});
`;

/** jose: the names lib/oauth imports; none is reached by the first-use events. */
const JOSE = `const unused = () => { throw new Error('bench stand-in'); };
export const createRemoteJWKSet = unused;
export const decodeJwt = unused;
export const jwtVerify = unused;
export const customFetch = Symbol('customFetch');
class JOSEError extends Error {}
export const errors = { JOSEError, JWKSTimeout: class extends JOSEError {}, JWTClaimValidationFailed: class extends JOSEError {}, JWTExpired: class extends JOSEError {}, JOSEAlgNotAllowed: class extends JOSEError {}, JWSSignatureVerificationFailed: class extends JOSEError {}, JWKSNoMatchingKey: class extends JOSEError {} };
`;

const METRICS = `export const MetricUnit = { Count: 'Count', Milliseconds: 'Milliseconds' };
export class Metrics { addDimension() {} addMetric() {} publishStoredMetrics() {} }
`;

const PARAMETERS = `export class SecretsProvider { async get() { throw new Error('bench stand-in'); } }
`;

/** By the name `BENCH_BUNDLES_WITHOUT` takes: the specifiers it replaces. */
export const STAND_INS: Readonly<Record<string, StandIns>> = {
  logger: { '@aws-lambda-powertools/logger': LOGGER, '@aws-lambda-powertools/logger/middleware': LOGGER_MIDDLEWARE },
  jose: { jose: JOSE },
  metrics: { '@aws-lambda-powertools/metrics': METRICS },
  parameters: { '@aws-lambda-powertools/parameters/secrets': PARAMETERS },
};

/** The stand-ins `names` (comma-separated, as in the variable) choose; throws on a name it does not know. */
export function standInsFor(names: string): StandIns {
  return Object.assign(
    {},
    ...names
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean)
      .map((name) => {
        const found = STAND_INS[name];
        if (found === undefined) throw new Error(`BENCH_BUNDLES_WITHOUT: no stand-in "${name}" (known: ${Object.keys(STAND_INS).join(', ')})`);
        return found;
      }),
  );
}
