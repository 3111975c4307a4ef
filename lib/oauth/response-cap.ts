/**
 * How much of a provider's answer the broker reads: one limit and one reader for every answer
 * it fetches from a provider (the token endpoint and its kin in token-endpoint.ts, the OpenID
 * discovery document and the signing keys in id-token.ts). `fetch` and jose read a body whole,
 * however large; a provider that answers with hundreds of megabytes (broken, or an attack on the
 * worker's memory) must cost at most this much before it is refused.
 */

/**
 * The most of a provider's answer the broker reads. A token response is a few kilobytes, an
 * id_token and a list of accounts included; what it carries is stored in one DynamoDB item, which
 * cannot exceed 400 KB. A discovery document or a key set is a few kilobytes too (Google's keys:
 * 2 KB; Microsoft's: under 20 KB). An answer larger than this is garbage: refused as the
 * provider's error before it is parsed, let alone stored.
 */
export const MAX_RESPONSE_BYTES = 256 * 1024;

/**
 * The body as text, or undefined once it is known to exceed `limit` bytes: from a declared
 * Content-Length before anything is read, else as soon as the bytes read pass it (the rest is
 * not read).
 */
export async function readCapped(response: Response, limit = MAX_RESPONSE_BYTES): Promise<string | undefined> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (!response.body) {
    const text = await response.text();
    return Buffer.byteLength(text) > limit ? undefined : text;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  // As `response.text()` decodes: UTF-8, a byte order mark dropped, bad sequences replaced.
  return new TextDecoder().decode(Buffer.concat(chunks));
}
