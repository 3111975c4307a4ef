/**
 * `oauth-token-broker`: what the app's other code imports.
 *
 * In-process (the calling Lambda has the table/key/secret permissions, see
 * `OAuthTokenBroker.bindGetToken(fn, GetTokenAccess.IN_PROCESS)` in `oauth-token-broker/cdk`):
 * `getToken(connectionId)` builds the broker from the same environment variables the
 * broker's own functions use. Without those permissions: `invokeGetToken`.
 *
 * Everything exported here is public API (semver); the package's `exports` map allows no
 * deeper import.
 */
import type { AccessToken } from './model';
import { sharedBroker } from './runtime';

export { Broker } from './broker';
export { BrokerError, isBrokerError, type BrokerErrorCode } from './errors';
export type { AccessToken, ConnectionSummary } from './model';
/** What the broker publishes on EventBridge (`detail-type` = `type`); see `onConnectionEvent` in `oauth-token-broker/cdk`. */
export type { BrokerEvent, BrokerEventType } from './ports';
export { invokeGetToken, type GetTokenResponse } from './client';
// Install links (`createInstallLink`) are exported here once the signed-link issue lands.

/**
 * A valid access token for `connectionId`: from memory while fresh, refreshed
 * (once, fleet-wide) when close to expiry, or at once with `forceRefresh` after the
 * provider answered 401 (Marketo 601/602). Throws `BrokerError` with a stable `code`:
 * `connection_not_found`, `needs_reauth`, `connection_revoked`, `provider_unavailable`, `provider_timeout`, ...
 */
export async function getToken(connectionId: string, options: { forceRefresh?: boolean } = {}): Promise<AccessToken> {
  const broker = await sharedBroker();
  return broker.getToken(connectionId, options);
}
