/**
 * The stand-in network: the broker's injected `fetch` (BrokerDeps.fetch) reaches the real
 * provider hosts of the built-in catalogue (`https://slack.com/api/oauth.v2.access`,
 * `https://acme.zendesk.com/oauth/tokens`) and each request is delivered to that provider's
 * loopback stand-in instead, with the host the broker addressed in `x-forwarded-host`. So the
 * catalogue entries are tested exactly as shipped, per-customer hosts included (a Zendesk
 * subdomain, a Shopify shop, a Zoho data centre): the stand-in sees which host was called.
 *
 * A host no stand-in answers fails as DNS would (`ENOTFOUND`), so a request the broker should
 * never make (a secret sent to an unexpected host) cannot succeed by accident.
 */
import type { FaultProvider } from '../fault-provider';

/** What answers for one host (or a family of hosts: a pattern). */
interface HostRoute {
  host: string | RegExp;
  target: Pick<FaultProvider, 'url'>;
}

/** One request the network delivered (or refused), in order. */
export interface NetworkCall {
  method: string;
  host: string;
  path: string;
  /** False when no stand-in answers for the host. */
  delivered: boolean;
}

export class StandInNetwork {
  private readonly routes: HostRoute[] = [];
  readonly calls: NetworkCall[] = [];

  /** Requests for `host` (exact, or every host the pattern matches in full) go to `target`. */
  route(host: string | RegExp, target: Pick<FaultProvider, 'url'>): this {
    this.routes.push({ host, target });
    return this;
  }

  /** A `fetch` for BrokerDeps: https (or http) URLs on routed hosts reach their stand-in. */
  readonly fetch: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const target = this.targetFor(url.hostname);
    this.calls.push({ method: request.method, host: url.host, path: url.pathname, delivered: target !== undefined });
    if (target === undefined) {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error(`getaddrinfo ENOTFOUND ${url.hostname}`), { code: 'ENOTFOUND' }) });
    }
    const headers = new Headers(request.headers);
    headers.set('x-forwarded-host', url.host);
    headers.set('x-forwarded-proto', url.protocol.replace(':', ''));
    const body = request.body === null ? undefined : await request.text();
    return fetch(`${target.url}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      ...(body !== undefined ? { body } : {}),
      redirect: init?.redirect ?? 'follow',
      ...(init?.signal ? { signal: init.signal } : {}),
    });
  };

  /**
   * Plays the user's browser on the provider's consent page: opens the authorize URL and
   * follows the provider's redirects until one leaves for `callbackPrefix` (the broker's
   * callback), whose query it returns. Throws with the provider's answer when it refuses.
   */
  async consent(authorizeUrl: URL | string, callbackPrefix: string): Promise<Record<string, string>> {
    let next = new URL(authorizeUrl);
    for (let hop = 0; hop < 5; hop++) {
      if (next.href.startsWith(callbackPrefix)) return Object.fromEntries(next.searchParams);
      const response = await this.fetch(next, { redirect: 'manual' });
      const location = response.headers.get('location');
      if (response.status < 300 || response.status > 399 || location === null) {
        throw new Error(`the consent page at ${next.host}${next.pathname} answered HTTP ${response.status}: ${await response.text()}`);
      }
      next = new URL(location, next);
    }
    throw new Error('too many redirects on the consent page');
  }

  /** The requests delivered to `host` (exact), in order. */
  callsTo(host: string): NetworkCall[] {
    return this.calls.filter((call) => call.host === host);
  }

  private targetFor(hostname: string): HostRoute['target'] | undefined {
    for (const { host, target } of this.routes) {
      if (typeof host === 'string' ? host === hostname : new RegExp(`^(?:${host.source})$`, host.flags).test(hostname)) return target;
    }
    return undefined;
  }
}
