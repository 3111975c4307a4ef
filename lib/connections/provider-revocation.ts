/**
 * Revoking tokens at the provider: a connection's (admin revoke, and a refresher whose result
 * arrives after the connection was revoked), and an orphan's — tokens an install obtained and
 * then did not store (refused, lost a race, used link), which would otherwise stay live at the
 * provider with nobody holding them to revoke later.
 */
import { isBrokerError, providerErrorCode } from '../errors';
import { logger } from '../logger';
import type { ConnectionRecord, SealedPayload, TokenSet } from '../model';
import { revokeToken } from '../oauth/token-endpoint';
import type { Provider } from '../providers/schema';
import { credentialsFor, enabledProvider, tokenEndpointOptions, type BrokerContext } from './context';

export type ProviderRevocation = { outcome: 'revoked' | 'not_supported' } | { outcome: 'failed'; providerError: string };

type TokenOwner = Pick<ConnectionRecord, 'id' | 'provider' | 'connectionConfig' | 'credentialsSecretName'>;

/** Revokes each token set at the provider (a catalogue without `revocation` → not_supported); never throws. */
export async function revokeAtProvider(ctx: BrokerContext, record: TokenOwner, payloads: SealedPayload[]): Promise<ProviderRevocation> {
  let provider;
  try {
    provider = enabledProvider(ctx, record.provider);
  } catch {
    return { outcome: 'not_supported' };
  }
  const revocation = await revokeTokenSets(ctx, provider, record, payloads);
  if (revocation.outcome === 'failed') {
    logger.warn('provider revocation failed; the connection is revoked locally anyway', { connection_id: record.id, provider: record.provider, provider_error: revocation.providerError });
  }
  return revocation;
}

/**
 * Revokes the tokens of a grant the broker will not store, and says so in the event log
 * (`connection.orphan_revoked`: provider, outcome, why; never a token). Never throws: the
 * install's own error is what the person sees.
 */
export async function revokeOrphanedGrant(
  ctx: BrokerContext,
  provider: Provider,
  token: TokenSet,
  facts: { connectionId?: string; connectionConfig?: Record<string, string>; reason: string },
): Promise<ProviderRevocation> {
  const owner: TokenOwner = { id: facts.connectionId ?? '(not chosen)', provider: provider.key, connectionConfig: facts.connectionConfig };
  const revocation = await revokeTokenSets(ctx, provider, owner, [{ token }]).catch((): ProviderRevocation => ({ outcome: 'failed', providerError: 'internal_error' }));
  const providerError = revocation.outcome === 'failed' ? revocation.providerError : undefined;
  logger.warn('install did not store the grant it obtained; revoking it at the provider', { provider: provider.key, outcome: revocation.outcome, reason: facts.reason, provider_error: providerError });
  await ctx.events.publish({
    type: 'connection.orphan_revoked',
    detail: {
      connection_id: facts.connectionId ?? null,
      provider: provider.key,
      tenant: null,
      outcome: revocation.outcome,
      reason: facts.reason,
      ...(providerError !== undefined ? { provider_error: providerError } : {}),
    },
    at: ctx.clock.now(),
  });
  return revocation;
}

async function revokeTokenSets(ctx: BrokerContext, provider: Provider, owner: TokenOwner, payloads: SealedPayload[]): Promise<ProviderRevocation> {
  const withTokens = payloads.filter((payload) => payload.token !== undefined);
  if (!provider.revocation || withTokens.length === 0) return { outcome: 'not_supported' };
  try {
    for (const payload of withTokens) {
      const credentials = await credentialsFor(ctx, provider, owner, payload);
      await revokeToken(provider, credentials, { tokens: payload.token!, connectionConfig: owner.connectionConfig }, tokenEndpointOptions(ctx));
    }
    return { outcome: 'revoked' };
  } catch (err) {
    return { outcome: 'failed', providerError: isBrokerError(err) ? (providerErrorCode(err) ?? err.code) : 'internal_error' };
  }
}
