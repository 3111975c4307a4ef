/**
 * Issuer identifiers from the catalogue's `oidc.issuer`, which may be a template: `{name}`
 * stands for the id_token's own claim `name`. Microsoft's multi-tenant endpoints publish
 * `https://login.microsoftonline.com/{tenantid}/v2.0` and each token says which tenant it is
 * (`tid`), so the issuer to expect is computed from the token, then compared exactly — the
 * signature check is what makes that claim trustworthy (see lib/oauth/id-token.ts).
 *
 * Pure and zod-free: the catalogue loader and the Lambda handlers both use it.
 */

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
/** What a claim may look like to be put into an issuer: one path segment or host label, no dots alone. */
const SAFE_SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/** The claim names an issuer template refers to (empty for a plain issuer). */
export function issuerTemplateClaims(issuer: string): string[] {
  return [...issuer.matchAll(PLACEHOLDER)].map((match) => match[1] as string);
}

/**
 * The issuer an id_token with these claims must carry: the template with each `{name}`
 * replaced by the token's own claim. Undefined when a claim is missing or could reshape the
 * URL (a `/`, `?`, `#` or `..` in it), so such a token can never match.
 */
export function expectedIssuer(issuer: string, claims: Readonly<Record<string, unknown>>): string | undefined {
  let unusable = false;
  const expected = issuer.replace(PLACEHOLDER, (_text, name: string) => {
    const value = Object.hasOwn(claims, name) ? claims[name] : undefined;
    if (typeof value !== 'string' || !SAFE_SEGMENT.test(value) || value === '..') {
      unusable = true;
      return '';
    }
    return value;
  });
  return unusable ? undefined : expected;
}

/** Whether an RFC 9207 `iss` callback parameter names this issuer (a template matches any safe value per placeholder). */
export function issuerMatches(issuer: string, iss: string): boolean {
  if (issuerTemplateClaims(issuer).length === 0) return iss === issuer;
  let pattern = '^';
  let copied = 0;
  for (const match of issuer.matchAll(PLACEHOLDER)) {
    pattern += escapeRegExp(issuer.slice(copied, match.index)) + '([A-Za-z0-9_-][A-Za-z0-9._-]{0,127})';
    copied = match.index + match[0].length;
  }
  pattern += `${escapeRegExp(issuer.slice(copied))}$`;
  const found = new RegExp(pattern).exec(iss);
  return found !== null && found.slice(1).every((segment) => segment !== '..');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
