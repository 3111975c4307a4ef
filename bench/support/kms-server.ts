/**
 * A KMS on loopback for the bench: the real `KMSClient` talks to it over HTTP (serialising,
 * signing, parsing, as against AWS), so the CPU a refresh spends in the SDK's KMS calls is
 * measured, and every request is counted where it lands. aws-sdk-client-mock (support/fake-aws.ts)
 * replaces `send` and so skips that work.
 *
 * It speaks the two operations the cipher uses, in KMS's JSON protocol
 * (https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKey.html, API_Decrypt.html),
 * and binds each data key to the key id and encryption context as KMS does: the ciphertext blob is
 * the data key sealed with AES-GCM under a master key, the context as additional data.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface KmsServer {
  endpoint: string;
  /** Requests answered, by operation. */
  calls: Record<'GenerateDataKey' | 'Decrypt', number>;
  close(): Promise<void>;
}

export async function startKmsServer(): Promise<KmsServer> {
  const masterKey = randomBytes(32);
  const calls = { GenerateDataKey: 0, Decrypt: 0 };
  const aad = (keyId: string, context: Record<string, string> | undefined) =>
    Buffer.from(JSON.stringify([keyId, Object.entries(context ?? {}).sort(([a], [b]) => a.localeCompare(b))]));

  const generate = (input: { KeyId: string; EncryptionContext?: Record<string, string> }) => {
    const dataKey = randomBytes(32);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', masterKey, iv).setAAD(aad(input.KeyId, input.EncryptionContext));
    const sealed = Buffer.concat([cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]);
    const keyId = Buffer.from(input.KeyId);
    // The blob names its key, as KMS's does, so Decrypt needs no KeyId.
    const blob = Buffer.concat([Buffer.from([keyId.length]), keyId, iv, sealed]);
    return { KeyId: input.KeyId, Plaintext: dataKey.toString('base64'), CiphertextBlob: blob.toString('base64') };
  };

  const decrypt = (input: { CiphertextBlob: string; EncryptionContext?: Record<string, string> }) => {
    const blob = Buffer.from(input.CiphertextBlob, 'base64');
    const keyId = blob.subarray(1, 1 + (blob[0] ?? 0)).toString();
    const rest = blob.subarray(1 + keyId.length);
    const decipher = createDecipheriv('aes-256-gcm', masterKey, rest.subarray(0, 12)).setAAD(aad(keyId, input.EncryptionContext));
    decipher.setAuthTag(rest.subarray(rest.length - 16));
    const dataKey = Buffer.concat([decipher.update(rest.subarray(12, rest.length - 16)), decipher.final()]);
    return { KeyId: keyId, Plaintext: dataKey.toString('base64') };
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const operation = String(request.headers['x-amz-target'] ?? '').replace('TrentService.', '');
      let status = 200;
      let body: unknown;
      try {
        const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (operation === 'GenerateDataKey') body = generate(input);
        else if (operation === 'Decrypt') body = decrypt(input);
        else throw Object.assign(new Error(`unsupported ${operation}`), { type: 'UnsupportedOperationException' });
        calls[operation as keyof typeof calls]++;
      } catch (err) {
        status = 400;
        body = { __type: (err as { type?: string }).type ?? 'InvalidCiphertextException', message: 'refused' };
      }
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(body));
    });
  });
  // Longer than the SDK keeps an idle socket: a reused connection is never closed under a request.
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
