/**
 * Child-process entry: dynalite (in memory) for the bench, outside the bench's own process.
 *
 * Why a separate process: in the broker's process dynalite would share one event loop with
 * the broker, the AWS SDK and the fault provider, so a slow store and a busy broker could not
 * be told apart, and neither would get the second core. Here it has its own, and reports its
 * own CPU time so the report can say which of the two was the bound.
 *
 * Protocol (IPC): sends `{ type: 'ready', endpoint }`; answers `{ type: 'usage' }` with
 * `{ type: 'usage', cpuMicros }`; `{ type: 'close' }` stops the server and exits. Exits too
 * when the parent goes away, so a crashed bench never leaves it behind.
 */
import { startDynalite } from '../../lib/local/dynalite';

export type DynaliteRequest = { type: 'usage' } | { type: 'close' };
export type DynaliteReply = { type: 'ready'; endpoint: string } | { type: 'usage'; cpuMicros: number };

const send = (reply: DynaliteReply) => process.send?.(reply);

const server = await startDynalite();
process.on('disconnect', () => process.exit(0));
process.on('message', (message: DynaliteRequest) => {
  if (message.type === 'usage') {
    const { user, system } = process.cpuUsage();
    send({ type: 'usage', cpuMicros: user + system });
  } else if (message.type === 'close') {
    void server.close().finally(() => process.exit(0));
  }
});
send({ type: 'ready', endpoint: server.endpoint });
