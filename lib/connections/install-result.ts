/**
 * The result of an install, for the person who made it (post/redirect/get). The callback stores
 * the connection, then redirects to `/oauth/{provider}/connected?c=<result>`: a reload or the back
 * button shows "Connected" again instead of replaying the one-time callback, which would now say
 * the state was used. The result carries the connection id, its provider and an expiry,
 * HMAC-signed with the signing key under its own label: nothing secret (never a token, the code
 * or the state), and no table write or read, so the page costs nothing and reveals nothing the
 * "Connected" page did not already show.
 */
import { BrokerError } from '../errors';
import { isPlainObject } from '../plain-object';
import type { BrokerContext } from './context';
import { installResultTagValid, openSignedToken, signInstallResult } from './signing';

/** How long the "Connected" page can be reloaded: a day covers a tab left open overnight. */
export const INSTALL_RESULT_TTL_MS = 24 * 3600_000;

export type InstallResultContext = Pick<BrokerContext, 'signingKey' | 'clock'>;

export interface InstallResult {
  connectionId: string;
  provider: string;
}

/** A verified result, or one past its expiry (the page then says so without alarming anyone). */
export type ReadInstallResult = ({ status: 'valid' } & InstallResult) | { status: 'expired' };

/** Short names keep the URL short; `v` is the format. */
interface ResultPayload {
  v: 1;
  c: string;
  p: string;
  /** Epoch seconds. */
  exp: number;
}

const MAX_RESULT_CHARS = 1024;

/** The `?c=` value of the "Connected" page for `result`. */
export async function sealInstallResult(ctx: InstallResultContext, result: InstallResult): Promise<string> {
  const payload: ResultPayload = { v: 1, c: result.connectionId, p: result.provider, exp: Math.floor((ctx.clock.now() + INSTALL_RESULT_TTL_MS) / 1000) };
  const encoded = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return `${encoded}.${await signInstallResult(ctx.signingKey, encoded)}`;
}

/**
 * Verifies a result opened on `/oauth/{providerKey}/connected`. A forged, altered or another
 * provider's result is `invalid_request`; an expired one is reported, not thrown.
 */
export async function readInstallResult(ctx: InstallResultContext, token: string | undefined, providerKey: string): Promise<ReadInstallResult> {
  const invalid = () => new BrokerError('invalid_request', 'This confirmation link is not valid; if you were connecting an account, open the install link you were given again');
  const payload = await openSignedToken(token, MAX_RESULT_CHARS, (encoded, tag) => installResultTagValid(ctx.signingKey, encoded, tag));
  if (!isPlainObject(payload) || payload.v !== 1 || typeof payload.c !== 'string' || typeof payload.p !== 'string' || typeof payload.exp !== 'number') throw invalid();
  if (payload.p !== providerKey) throw invalid();
  if (payload.exp * 1000 <= ctx.clock.now()) return { status: 'expired' };
  return { status: 'valid', connectionId: payload.c, provider: payload.p };
}
