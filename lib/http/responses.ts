/**
 * The HTTP edge: turning use-case results and BrokerErrors into API Gateway v2
 * responses, the same for Lambda and the local server. Errors are mapped here, once.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { errorBody, errorStatus, isBrokerError } from '../errors';
import type { Logger } from '@aws-lambda-powertools/logger';
import { logger } from '../logger';

export type HttpResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string> };

export const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { statusCode, headers: { 'content-type': 'application/json; charset=utf-8', ...SECURITY_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** A redirect: 302 by default; 303 ("see other") after the callback stored something (post/redirect/get). */
export function redirect(location: string, statusCode: 302 | 303 = 302): HttpResponse {
  return { statusCode, headers: { location, ...SECURITY_HEADERS }, body: '' };
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The error as JSON with its status (5xx messages hidden, details only when exposed); the caller logs it (`logRequestFailure`). */
export function errorJson(err: unknown): HttpResponse {
  const status = errorStatus(err);
  const retryAfter = isBrokerError(err) && err.expose ? err.retryAfterS : undefined;
  return json(status, errorBody(err), retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {});
}

/** Where a failed request was going: the API Gateway route key and the provider of its path. */
export interface RequestFacts {
  route?: string;
  provider?: string;
}

/**
 * One log line per failed request, with the route and the provider: a refusal (4xx) at INFO
 * (a provider without its app: with the `problem` to fix); a configuration error at ERROR with exactly what is wrong (BrokerError messages never hold a
 * secret, lib/errors.ts); any other failure at ERROR with its code and error names only.
 * `log`: the broker's logger, or `edgeLogger` for a request no handler served (lib/local/edge-logger.ts).
 */
export function logRequestFailure(err: unknown, facts: RequestFacts, log: Pick<Logger, 'info' | 'error'> = logger): void {
  const status = errorStatus(err);
  const code = errorBody(err).error.code;
  const where = { route: facts.route, provider: facts.provider ?? (isBrokerError(err) ? err.installAttempt?.provider : undefined) };
  if (isBrokerError(err, 'provider_not_configured')) {
    // Expected where a catalogue provider has no app yet (locally, every built-in one): a refusal,
    // not an ERROR, but with what the operator must fix (the adapter's message: which secret, where).
    const problem = err.cause instanceof Error ? err.cause.message : err.message;
    log.info('request refused', { code, status, ...where, reason: err.message, problem });
  } else if (status < 500) {
    log.info('request refused', { code, status, ...where, reason: isBrokerError(err) ? err.message : undefined });
  } else if (isBrokerError(err, 'configuration_error')) {
    log.error('configuration error', { code, status, ...where, problem: err.message, ...err.details });
  } else {
    log.error('request failed', { code, status, ...where, error: err instanceof Error ? err.name : typeof err, cause: causeName(err), reason: isBrokerError(err) ? err.message : undefined });
  }
}

function causeName(err: unknown): string | undefined {
  const cause = err instanceof Error ? err.cause : undefined;
  return cause instanceof Error ? `${cause.name}` : undefined;
}

/** A host name or IP literal with an optional port: what a Host header may hold (RFC 9110 §7.2). */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** The base URL a request reached us at (for redirect_uri when no public URL is configured). */
export function requestBaseUrl(event: APIGatewayProxyEventV2): string {
  // Headers are the client's to write: one that is not a scheme or a host (`a b`, `x/y`) would build a
  // URL that does not parse (a 500 at `new URL`), so it gives way to what API Gateway itself knows.
  const forwarded = event.headers?.['x-forwarded-proto'];
  const proto = forwarded === 'http' || forwarded === 'https' ? forwarded : 'https';
  const header = event.headers?.host;
  const host = header !== undefined && HOST.test(header) ? header : event.requestContext.domainName;
  const stage = event.requestContext.stage;
  const prefix = stage && stage !== '$default' ? `/${stage}` : '';
  return `${proto}://${host}${prefix}`;
}

/** True when the client prefers JSON over a page (API clients, tests). */
export function wantsJson(event: APIGatewayProxyEventV2): boolean {
  const accept = event.headers?.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
}
