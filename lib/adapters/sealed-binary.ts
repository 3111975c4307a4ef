/**
 * Sealed blobs as DynamoDB binary attributes. The ciphers hand out text (`kms2.<edk>.<iv>.<ct>`,
 * base64url parts joined by dots); stored as a string, base64 costs a third more bytes than the
 * bytes it encodes, and DynamoDB bills every write by the KB of the whole item. So the store keeps
 * the same parts as raw bytes and gives back exactly the text it was given: a token set of ordinary
 * size then fits a connection item in one write unit (docs/design.md, "Writes per refresh").
 *
 * Layout: `0x01`, the format name (one length byte + ASCII), the part count (one byte), then each
 * part as an unsigned LEB128 length + its bytes. Text that would not come back identical (a part
 * that is not canonical base64url, a format name with odd characters) is stored as text, as before.
 */
import { decodeBase64UrlStrict } from './aead';

const PACKING_VERSION = 1;
const FORMAT_NAME = /^[A-Za-z0-9_-]{1,32}$/;
const MAX_PARTS = 16;

/** The binary form of `text`, or undefined when it cannot be packed losslessly. */
export function packSealed(text: string): Uint8Array | undefined {
  const [format, ...encoded] = text.split('.');
  if (format === undefined || !FORMAT_NAME.test(format) || encoded.length === 0 || encoded.length > MAX_PARTS) return undefined;
  const parts: Buffer[] = [];
  for (const part of encoded) {
    const bytes = part === '' ? undefined : decodeBase64UrlStrict(part);
    if (bytes === undefined) return undefined;
    parts.push(bytes);
  }
  const chunks: Uint8Array[] = [Uint8Array.of(PACKING_VERSION, format.length), Buffer.from(format, 'ascii'), Uint8Array.of(parts.length)];
  for (const part of parts) chunks.push(leb128(part.length), part);
  return Buffer.concat(chunks);
}

/** The text `packSealed` was given; throws on bytes it did not write. */
export function unpackSealed(bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const byte = (): number => {
    if (at >= buffer.length) throw new Error('truncated sealed blob');
    return buffer[at++]!;
  };
  if (byte() !== PACKING_VERSION) throw new Error('unknown sealed blob packing');
  const formatLength = byte();
  const format = buffer.toString('ascii', at, at + formatLength);
  at += formatLength;
  const count = byte();
  const parts = [format];
  for (let i = 0; i < count; i++) {
    let length = 0;
    for (let shift = 0; ; shift += 7) {
      const b = byte();
      length += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
      if (shift > 28) throw new Error('bad sealed blob length');
    }
    if (at + length > buffer.length) throw new Error('truncated sealed blob');
    parts.push(buffer.toString('base64url', at, at + length));
    at += length;
  }
  if (at !== buffer.length) throw new Error('trailing bytes in sealed blob');
  return parts.join('.');
}

function leb128(value: number): Uint8Array {
  const out: number[] = [];
  let rest = value;
  do {
    const low = rest & 0x7f;
    rest = Math.floor(rest / 128);
    out.push(rest > 0 ? low | 0x80 : low);
  } while (rest > 0);
  return Uint8Array.from(out);
}
