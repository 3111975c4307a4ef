/**
 * Which provider URLs the broker will use: https, or plain http to this machine only. A client
 * secret, a code, a refresh token or a token request's answer sent over plain http to another
 * host crosses the network in clear (and a JWKS fetched that way could be swapped for an
 * attacker's keys). Loopback stays allowed because the local sandbox and the tests' stand-in
 * providers listen on 127.0.0.1 / localhost, where nothing crosses a network.
 *
 * The same rule holds for the broker's own URLs: `BROKER_PUBLIC_URL` (lib/runtime.ts), where every
 * callback starts, and the URL the CLI sends the admin key to (lib/cli/main.ts).
 */

/**
 * True for `localhost`, 127.0.0.0/8 and `[::1]`. Not `*.localhost`: RFC 6761 §6.3 asks resolvers to
 * map those to loopback, but not every one does (glibc's alone does not), so such a name may resolve
 * through DNS to anywhere.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'localhost' || /^127(?:\.\d{1,3}){3}$/.test(host) || host === '[::1]';
}

/** True when the broker may send a request to `url`: https anywhere, http to a loopback host only. */
export function transportAllowed(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
}

/**
 * Why the broker will not send its own secret to `url` (undefined when it will): `userinfo` for a URL
 * with a user name or password (fetch refuses to send one, and its error repeats it, password
 * included; every provider and browser would be handed it in a URL the broker builds), `transport`
 * where `transportAllowed` says no. For the broker's own URLs: `BROKER_PUBLIC_URL` (lib/runtime.ts)
 * and the URL the admin key is sent to (lib/admin-client, lib/cli).
 */
export function ownUrlProblem(url: URL): 'userinfo' | 'transport' | undefined {
  if (url.username !== '' || url.password !== '') return 'userinfo';
  return transportAllowed(url) ? undefined : 'transport';
}

/**
 * The same rule on a catalogue string: a template that starts with a placeholder is checked at use, once filled in.
 * The host is the one the URL parser finds (as fetch will), not a regex's reading: `http://127.0.0.1@evil.example`
 * (userinfo) and `http://evil.example\\.localhost` (a backslash is a `/` in http URLs) both go to evil.example.
 */
export function catalogueUrlAllowed(value: string): boolean {
  if (!/^http:\/\//i.test(value)) return true;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Only a placeholder in the authority (`http://localhost:${connectionConfig.port}`) makes a template unparsable here.
    return value.includes('${');
  }
  // `${...}` in the host is filled in at use, where `providerUrl` applies the rule to the result.
  return url.hostname.includes('${') || transportAllowed(url);
}
