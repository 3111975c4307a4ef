/**
 * Revoking a connection's tokens at the provider, shared by the admin revoke and by a
 * refresher whose result arrives after the connection was revoked.
 */
import { isBrokerError, providerErrorCode } from '../errors';
import { logger } from '../logger';
import { revokeToken } from '../oauth/token-endpoint';
import { credentialsFor, enabledProvider, tokenEndpointOptions, type BrokerContext } from './context';
import type { ConnectionRecord, SealedPayload } from '../model';

export type ProviderRevocation = { outcome: 'revoked' | 'not_supported' } | { outcome: 'failed'; providerError: string };

/** Revokes each token set at the provider (a catalogue without `revocation` → not_supported); never throws. */
export async function revokeAtProvider(ctx: BrokerContext, record: ConnectionRecord, payloads: SealedPayload[]): Promise<ProviderRevocation> {
  const withTokens = payloads.filter((payload) => payload.token !== undefined);
  let provider;
  try {
    provider = enabledProvider(ctx, record.provider);
  } catch {
    return { outcome: 'not_supported' };
  }
  if (!provider.revocation || withTokens.length === 0) return { outcome: 'not_supported' };
  try {
    for (const payload of withTokens) {
      const credentials = await credentialsFor(ctx, provider, record, payload);
      await revokeToken(provider, credentials, { tokens: payload.token!, connectionConfig: record.connectionConfig }, tokenEndpointOptions(ctx));
    }
    return { outcome: 'revoked' };
  } catch (err) {
    const providerError = isBrokerError(err) ? (providerErrorCode(err) ?? err.code) : 'internal_error';
    logger.warn('provider revocation failed; the connection is revoked locally anyway', { connection_id: record.id, provider: record.provider, provider_error: providerError });
    return { outcome: 'failed', providerError };
  }
}
