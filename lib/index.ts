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
import { getTokenBroker } from './broker';
import { createInstallLink as mint, type InstallLink, type InstallLinkRequest } from './connections/install-links';
import type { GetTokenOptions } from './connections/token-service';
import type { AccessToken } from './model';
import { ALL_ADAPTERS, installLinkMinter, sharedBroker } from './runtime';

export { Broker } from './broker';
export { BrokerError, isBrokerError, type BrokerErrorCode } from './errors';
export type { AccessToken, ConnectionSummary, ProviderHealthSummary } from './model';
export type { GetTokenOptions } from './connections/token-service';
/** What the broker publishes on EventBridge (`detail-type` = `type`); see `onConnectionEvent` in `oauth-token-broker/cdk`. */
export type { BrokerEvent, BrokerEventType } from './ports';
export { invokeGetToken, type GetTokenResponse } from './client';
export type { InstallLink, InstallLinkRequest } from './connections/install-links';

/**
 * A valid access token for `connectionId`: from memory while fresh, refreshed
 * (once, fleet-wide) when close to expiry, or at once with `forceRefresh` after the
 * provider answered 401 (Marketo 601/602). Throws `BrokerError` with a stable `code`:
 * `connection_not_found`, `needs_reauth`, `connection_revoked`, `provider_unavailable`, `provider_timeout`,
 * `refresh_in_progress` (only with `signal`: another worker was still refreshing when it aborted), ...
 * Pass `signal` (e.g. `AbortSignal.timeout(ms)`) to bound the wait for another worker's refresh.
 */
export async function getToken(connectionId: string, options?: GetTokenOptions): Promise<AccessToken> {
  const broker = await sharedBroker(ALL_ADAPTERS, getTokenBroker);
  return broker.getToken(connectionId, options);
}

/**
 * A signed install link for one of the app's customers, minted in-process (no call to the
 * broker, no table write): `{ url, expires_at }`, where the URL carries exactly these values,
 * signed. Needs the signing key (`OAuthTokenBroker.bindInstallLinks(fn)` grants it and sets
 * `BROKER_SIGNING_KEY_SECRET_ARN` and `BROKER_PUBLIC_URL`). Throws `BrokerError` `invalid_request`,
 * `return_to_not_allowed`, `unknown_provider` for a bad value: no link is made.
 */
export async function createInstallLink(request: InstallLinkRequest): Promise<InstallLink> {
  return mint(await installLinkMinter(), request);
}
