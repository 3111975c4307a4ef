/**
 * Amazon's DynamoDB Local (the Java emulator AWS ships) as a second engine for tests,
 * next to dynalite: what passes on both is not an artefact of one emulator.
 *
 * The jar comes from the npm package `amplify-dynamodb-simulator` (a devDependency; we
 * use only its `emulator/` folder, never its JavaScript wrapper, which would pick its own
 * port). It runs on the machine's `java` (17 here; `.ci/run` installs Debian's
 * `openjdk-17-jre-headless` when it is missing). Without `java` the DynamoDB Local cases
 * are skipped with a message on a developer's machine and fail under `CI=true`, like the
 * browser test (`runsOnDynamoDbLocal`).
 *
 * Each `startDynamoDbLocal()` is one JVM, in memory, with telemetry off (no network
 * beyond loopback). DynamoDB Local has no option to choose its interface: it listens on
 * every interface, on a port we pick free on loopback, and we only ever talk to it there.
 * Starting the JVM costs a few seconds of CPU, so start one per test file, not per test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { it } from 'vitest';
import type { LocalDynamo } from '../../lib/local/dynalite';
import { useLocalDynamo, type LocalDynamoFixture } from './dynamo';

const EMULATOR_DIR = join(dirname(createRequire(import.meta.url).resolve('amplify-dynamodb-simulator/package.json')), 'emulator');
/** Generous for a cold JVM on a loaded 2-core machine (4-12 s here), below vitest's 60 s hook timeout. */
const READY_TIMEOUT_MS = 45_000;
const STOP_TIMEOUT_MS = 10_000;
/** A port can be taken between our probe and the JVM's bind (see `untilAnswering`): then try another. */
const START_ATTEMPTS = 3;
/**
 * `TieredStopAtLevel=1`: the quick JIT only. A test file's few hundred requests never pay back
 * the optimising compiler, which doubles the JVM's start-up CPU (about 5 s → 2 s here).
 */
const JVM_OPTIONS = ['-XX:TieredStopAtLevel=1', '-Djava.library.path=./DynamoDBLocal_lib'];
const SERVER_OPTIONS = ['-inMemory', '-disableTelemetry'];

/**
 * Runs the JVM under `sh`, which holds our end of a pipe on its stdin: when that pipe
 * closes — `close()`, or the test process ending in any way, even SIGKILL — the shell
 * kills the JVM and waits for it, so no emulator outlives the test file.
 */
const WATCHDOG = 'java "$@" & jvm=$!; while read -r _; do :; done; kill "$jvm" 2>/dev/null; wait "$jvm"';

/** Undefined when `java` and the jar are there, else why not and how to get them. */
export function dynamoDbLocalMissing(): string | undefined {
  if (findJava() === undefined) {
    return 'no `java` on PATH; install a headless JRE 17: apt-get install -y openjdk-17-jre-headless';
  }
  try {
    accessSync(join(EMULATOR_DIR, 'DynamoDBLocal.jar'), constants.R_OK);
    return undefined;
  } catch {
    return `no DynamoDBLocal.jar in ${EMULATOR_DIR}; run npm ci`;
  }
}

/**
 * Whether the caller should run its DynamoDB Local cases: yes when `java` and the jar are
 * there. Otherwise it registers, under `what`, a skipped test and a warning on a developer's
 * machine, or under `CI=true` a failing test that says what is missing: CI must run both engines.
 */
export function runsOnDynamoDbLocal(what: string): boolean {
  const missing = dynamoDbLocalMissing();
  if (missing === undefined) return true;
  if (process.env.CI) {
    it(`${what} on DynamoDB Local`, () => {
      throw new Error(`DynamoDB Local is required under CI=true (.ci/run installs a JRE): ${missing}`);
    });
  } else {
    console.warn(`[${what}] DynamoDB Local skipped: ${missing}`);
    it.skip(`${what} on DynamoDB Local (skipped: ${missing})`, () => undefined);
  }
  return false;
}

/** Starts DynamoDB Local in memory and resolves once it answers HTTP; `close()` ends the JVM. */
export async function startDynamoDbLocal(): Promise<LocalDynamo> {
  const missing = dynamoDbLocalMissing();
  if (missing !== undefined) throw new Error(`DynamoDB Local cannot start: ${missing}`);
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const port = await freeLoopbackPort();
    const jvm = spawn(
      'sh',
      ['-c', WATCHDOG, 'dynamodb-local', ...JVM_OPTIONS, '-jar', 'DynamoDBLocal.jar', ...SERVER_OPTIONS, '-port', String(port)],
      // Own process group: the last-resort kill in `stop` reaches the JVM as well as the shell.
      { cwd: EMULATOR_DIR, stdio: ['pipe', 'pipe', 'pipe'], detached: true },
    );
    const output = captureOutput(jvm);
    const endpoint = `http://127.0.0.1:${port}`;
    try {
      await untilAnswering(endpoint, jvm, output);
      return { endpoint, close: () => stop(jvm) };
    } catch (err) {
      await stop(jvm);
      if (!(err instanceof PortTaken)) throw err;
      lastError = err;
    }
  }
  throw lastError;
}

/** The port was taken between our probe and the JVM's bind: worth another attempt on another port. */
class PortTaken extends Error {}

/** `useLocalDynamo` on DynamoDB Local: one JVM for the calling file or describe, a fresh table, stopped in afterAll. */
export function useDynamoDbLocal(): LocalDynamoFixture {
  return useLocalDynamo('useDynamoDbLocal()', startDynamoDbLocal);
}

function findJava(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, 'java'), constants.X_OK);
      return join(dir, 'java');
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Keeps the last few KB of the JVM's output, for the error when it does not start. */
function captureOutput(jvm: ChildProcess): () => string {
  let text = '';
  const keep = (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-4_000);
  };
  jvm.stdout?.on('data', keep);
  jvm.stderr?.on('data', keep);
  return () => text.trim();
}

/**
 * Polls until the JVM answers HTTP on `endpoint` (a bare GET gets a 400). When the port was
 * taken in the meantime, DynamoDB Local logs a BindException and stays up without listening,
 * while another server answers there: both cases fail, so the caller tries another port.
 */
async function untilAnswering(endpoint: string, jvm: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (jvm.exitCode !== null || jvm.signalCode !== null) {
      throw new Error(`DynamoDB Local exited before answering (${jvm.exitCode ?? jvm.signalCode}):\n${output()}`);
    }
    if (/BindException|Address already in use/.test(output())) {
      throw new PortTaken(`DynamoDB Local could not bind ${endpoint}:\n${output()}`);
    }
    let server: string | null | undefined;
    try {
      server = (await fetch(endpoint, { signal: AbortSignal.timeout(1_000) })).headers.get('server');
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    // DynamoDB Local is served by Jetty; dynalite, the likeliest squatter here, sends no Server header.
    if (server?.startsWith('Jetty')) return;
    throw new PortTaken(`another server (${server ?? 'no Server header'}) answers on ${endpoint}`);
  }
  throw new Error(`DynamoDB Local did not answer on ${endpoint} within ${READY_TIMEOUT_MS / 1000} s:\n${output()}`);
}

/** Closes the watchdog's stdin (it kills the JVM and waits for it); kills the whole group if that hangs. */
async function stop(jvm: ChildProcess): Promise<void> {
  if (jvm.exitCode !== null || jvm.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => jvm.once('exit', () => resolve()));
  jvm.stdin?.end();
  const timer = setTimeout(() => {
    try {
      if (jvm.pid !== undefined) process.kill(-jvm.pid, 'SIGKILL');
    } catch {
      // the group is already gone
    }
  }, STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
