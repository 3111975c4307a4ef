/** The sealed payload's plaintext: deflated when shorter, plain JSON (as written before) still read. */
import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { LocalTokenCipher } from '../../../lib/adapters/local-cipher';
import { decodeSealedPayload, encodeSealedPayload, seal, unseal } from '../../../lib/connections/sealing';
import type { SealedPayload } from '../../../lib/model';

const owner = { id: 'hubspot-123', provider: 'hubspot' };
/** A HubSpot-shaped token set: an access token of up to ~300 characters, a UUID refresh token. */
const hubspot: SealedPayload = {
  token: { access_token: randomBytes(225).toString('base64url'), token_type: 'bearer', refresh_token: '1f0e2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7', expires_at: 4_102_444_800_000 },
};

describe('sealed payload encoding', () => {
  it('deflates a HubSpot-sized token set with the preset dictionary by more than 110 bytes (about 50 more than without it)', () => {
    const json = Buffer.byteLength(JSON.stringify(hubspot));
    const encoded = encodeSealedPayload(hubspot);
    expect(encoded[0]).toBe(0x02);
    expect(json - encoded.length).toBeGreaterThan(110);
    expect(deflateRawSync(JSON.stringify(hubspot)).length + 1 - encoded.length).toBeGreaterThan(40);
    expect(decodeSealedPayload(encoded)).toEqual(hubspot);
  });

  it('reads a payload deflated without the dictionary (0x01, as sealed before it)', () => {
    const before = Buffer.concat([Uint8Array.of(0x01), deflateRawSync(JSON.stringify(hubspot))]);
    expect(decodeSealedPayload(before)).toEqual(hubspot);
  });

  it('keeps plain JSON when deflate would not make it shorter', () => {
    const empty: SealedPayload = {};
    expect(Buffer.from(encodeSealedPayload(empty)).toString('utf8')).toBe('{}');
    expect(decodeSealedPayload(encodeSealedPayload(empty))).toEqual(empty);
  });

  it('unseals a payload sealed as plain JSON (before deflate) and one sealed now, with the same cipher', async () => {
    const cipher = new LocalTokenCipher(randomBytes(32));
    const before = await cipher.encrypt(Buffer.from(JSON.stringify(hubspot)), { connection_id: owner.id, provider: owner.provider });
    expect(await unseal(cipher, owner, before)).toEqual(hubspot);
    expect(await unseal(cipher, owner, await seal(cipher, owner, hubspot))).toEqual(hubspot);
  });

  it('refuses a plaintext in neither form as decrypt_failed', async () => {
    const cipher = new LocalTokenCipher(randomBytes(32));
    const odd = await cipher.encrypt(Uint8Array.of(0x7f, 1, 2, 3), { connection_id: owner.id, provider: owner.provider });
    await expect(unseal(cipher, owner, odd)).rejects.toMatchObject({ code: 'decrypt_failed' });
  });
});
