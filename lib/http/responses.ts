/**
 * The HTTP edge: turning use-case results and BrokerErrors into API Gateway v2
 * responses, the same for Lambda and the local server. Errors are mapped here, once.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { errorBody, errorStatus, isBrokerError } from '../errors';
import { logger } from '../logger';

export type HttpResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string> };

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { statusCode, headers: { 'content-type': 'application/json; charset=utf-8', ...SECURITY_HEADERS, ...headers }, body: JSON.stringify(body) };
}

export function redirect(location: string): HttpResponse {
  return { statusCode: 302, headers: { location, ...SECURITY_HEADERS }, body: '' };
}

export function html(statusCode: number, title: string, message: string, detail?: string): HttpResponse {
  const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1f2328}
h1{font-size:1.4rem}code{background:#f3f4f6;padding:.1rem .3rem;border-radius:4px}</style></head>
<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>${detail ? `<p><code>${escapeHtml(detail)}</code></p>` : ''}</body></html>`;
  return {
    statusCode,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
      ...SECURITY_HEADERS,
    },
    body: page,
  };
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The error as JSON with its status; 5xx details are logged (by code and name only), never shown. */
export function errorJson(err: unknown): HttpResponse {
  const status = errorStatus(err);
  logError(err, status);
  const retryAfter = isBrokerError(err) && err.expose ? err.retryAfterS : undefined;
  return json(status, errorBody(err), retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {});
}

/** The error as a page for a person in a browser (install and callback are visited by people). */
export function errorPage(err: unknown): HttpResponse {
  const status = errorStatus(err);
  logError(err, status);
  const { error } = errorBody(err);
  return html(status, status >= 500 ? 'Something went wrong' : 'The connection could not be made', error.message, error.code);
}

function logError(err: unknown, status: number): void {
  const code = errorBody(err).error.code;
  if (status >= 500) logger.error('request failed', { code, error: err instanceof Error ? err.name : typeof err, cause: causeName(err) });
  else logger.info('request refused', { code });
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
