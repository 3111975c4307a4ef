/**
 * The fault provider in a child process, for the cost section's CPU figures: in a worker's Lambda
 * the provider is on the other side of the network, so its CPU (answering every refresh) must not
 * be counted as the broker's. The parent gets an object with what the cost section uses of a
 * `FaultProvider` (its URLs, codes, close); codes are fetched ahead, because `issueCode` is
 * synchronous.
 *
 * Protocol (IPC), as dynalite-process.ts: the child sends `{ type: 'ready', ... }`, answers
 * `{ type: 'codes', count }` with that many codes, and exits on `{ type: 'close' }` or when the
 * parent goes away. The child's clock is real time: the cost section's clock only moves the
 * broker's view of expiry, and the provider checks no refresh-token age here.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FaultProvider } from '../../test/support/fault-provider';

type Request = { type: 'codes'; count: number } | { type: 'close' };
type Reply = { type: 'ready'; url: string; authorizeUrl: string; tokenUrl: string } | { type: 'codes'; codes: string[] };

/** What the cost section uses of a fault provider. */
export type ProviderHandle = Pick<FaultProvider, 'url' | 'authorizeUrl' | 'tokenUrl' | 'issueCode' | 'close'> & {
  /** Fetches `count` codes from the child, for `issueCode` to hand out. */
  prepareCodes(count: number): Promise<void>;
};

const isChild = process.argv.includes('--fault-provider-child');

export async function startProviderProcess(options: { expiresIn: number }): Promise<ProviderHandle> {
  const child = fork(fileURLToPath(import.meta.url), ['--fault-provider-child', String(options.expiresIn)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () => new Promise<Reply>((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`fault provider process exited (code ${code})`)));
  });
  const ready = await next();
  if (ready.type !== 'ready') throw new Error('fault provider process did not start');
  const codes: string[] = [];
  return {
    url: ready.url,
    authorizeUrl: ready.authorizeUrl,
    tokenUrl: ready.tokenUrl,
    async prepareCodes(count) {
      const reply = next();
      child.send({ type: 'codes', count } satisfies Request);
      const answer = await reply;
      if (answer.type === 'codes') codes.push(...answer.codes);
    },
    issueCode() {
      const code = codes.shift();
      if (code === undefined) throw new Error('no code prepared: call prepareCodes first');
      return code;
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.removeAllListeners('message');
      child.send({ type: 'close' } satisfies Request);
      await exited;
    },
  };
}

if (isChild) {
  const { startFaultProvider } = await import('../../test/support/fault-provider');
  const expiresIn = Number(process.argv[process.argv.indexOf('--fault-provider-child') + 1]);
  const provider = await startFaultProvider({ expiresIn });
  const send = (reply: Reply) => process.send?.(reply);
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: Request) => {
    if (message.type === 'codes') send({ type: 'codes', codes: Array.from({ length: message.count }, () => provider.issueCode()) });
    else if (message.type === 'close') void provider.close().finally(() => process.exit(0));
  });
  send({ type: 'ready', url: provider.url, authorizeUrl: provider.authorizeUrl, tokenUrl: provider.tokenUrl });
}
