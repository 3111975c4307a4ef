/**
 * For callers that do not hold the table/key permissions: invoke the broker's
 * `get-token` function (IAM `lambda:InvokeFunction`, see `grantGetToken`).
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { AccessToken } from './model';
import { BrokerError, ERROR_STATUS, type BrokerErrorCode, type ErrorDetails } from './errors';

/** What the get-token function returns: the token, or a typed error (never a Lambda function error for expected failures). */
export type GetTokenResponse = { ok: true; token: AccessToken } | { ok: false; error: { code: BrokerErrorCode; message: string; details?: Record<string, unknown> } };

let defaultClient: LambdaClient | undefined;

/** Calls the get-token function and returns the token, or throws the broker's typed `BrokerError`. */
export async function invokeGetToken(
  functionName: string,
  connectionId: string,
  options: { forceRefresh?: boolean; client?: LambdaClient } = {},
): Promise<AccessToken> {
  const client = options.client ?? (defaultClient ??= new LambdaClient({}));
  const output = await client.send(
    new InvokeCommand({
      FunctionName: functionName,
      Payload: new TextEncoder().encode(JSON.stringify({ connection_id: connectionId, force_refresh: options.forceRefresh === true })),
    }),
  );
  if (output.FunctionError) throw new BrokerError('internal_error', `get-token function failed (${output.FunctionError})`);
  const response = JSON.parse(new TextDecoder().decode(output.Payload)) as GetTokenResponse;
  if (response.ok) return response.token;
  const code = response.error.code in ERROR_STATUS ? response.error.code : 'internal_error';
  // The details too, as the in-process getToken throws them: `retry_after_s` (so `retryAfterS`), `circuit`, the provider's code.
  throw new BrokerError(code, response.error.message, { details: primitiveDetails(response.error.details) });
}

/** The details a get-token answer carried, values of the types `ErrorDetails` holds only. */
function primitiveDetails(details: Record<string, unknown> | undefined): ErrorDetails {
  return Object.fromEntries(Object.entries(details ?? {}).filter(([, value]) => ['string', 'number', 'boolean'].includes(typeof value))) as ErrorDetails;
}
