/**
 * `npm start` as a child process: what a developer runs, on free loopback ports and a data
 * directory of the caller's choice. For the bench's load section and the tests of how the
 * local runtime starts and stops (a busy port, a data directory already in use).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX_CLI = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));

/** A port nobody listens on right now (the kernel's choice; free again when this resolves). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface NpmStartOptions {
  dataDir: string;
  port: number;
  sandboxPort: number;
  /** Extra environment (BROKER_ADMIN_KEY, POWERTOOLS_LOG_LEVEL...). */
  env?: Record<string, string>;
}

export interface NpmStart {
  child: ChildProcess;
  url: string;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name) once the process ended. */
  exited: Promise<number | string>;
  /** Resolves when the banner is printed (the runtime says it is running); rejects if the process ends first. */
  ready: Promise<void>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<number | string>;
}

/** Starts `tsx lib/local/main.ts` (what `npm start` runs) with PORT, BROKER_SANDBOX_PORT and BROKER_DATA_DIR set. */
export function npmStart(options: NpmStartOptions): NpmStart {
  const child = spawn(process.execPath, [TSX_CLI, 'lib/local/main.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PORT: String(options.port),
      BROKER_SANDBOX_PORT: String(options.sandboxPort),
      BROKER_DATA_DIR: options.dataDir,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const ready = new Promise<void>((resolve, reject) => {
    const check = () => {
      if (out.includes('is running')) resolve();
    };
    child.stdout!.on('data', check);
    void exited.then((code) => reject(new Error(`npm start ended (${code}) before it was running:\n${out}\n${err}`)));
  });
  ready.catch(() => undefined);
  return {
    child,
    url: `http://127.0.0.1:${options.port}`,
    stdout: () => out,
    stderr: () => err,
    exited,
    ready,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
