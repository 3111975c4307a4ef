/**
 * The broker's structured logger (Powertools). Log lines carry ids, provider
 * names and error codes, never a token, code, client secret or key.
 *
 * Every handler adds, the Powertools way (`logContext`, lib/observability.ts): the Lambda context on each line
 * (`injectLambdaContext`: function name, request id, cold start; keys reset after each
 * invocation) and a `correlation_id` chosen per event — the API Gateway request id (also in the
 * access log), the id an admin caller sent, the invoker's id for get-token, the schedule event's
 * id for the sweep. Error pages show it as the reference a customer quotes.
 */
import { Logger } from '@aws-lambda-powertools/logger';

export const logger = new Logger({ serviceName: 'oauth-token-broker' });

/**
 * A correlation id taken from a caller: 1 to 128 characters of letters, digits and `._:-`. It
 * is logged and shown on pages; anything else is ignored in favour of our own id.
 */
export function acceptedCorrelationId(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(value) ? value : undefined;
}
