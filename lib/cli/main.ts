/**
 * `npx oauth-token-broker …`: the admin API from a terminal or a script, over the typed client
 * (lib/admin-client), against the local broker (bearer admin key) or a deployed stack (its
 * `ApiUrl` output, SigV4 with the caller's AWS credentials). Arguments by node:util `parseArgs`.
 *
 * `main` takes its arguments, output streams and environment, and returns the exit code, so
 * tests run it in-process; lib/cli/bin.ts wires it to the process.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AdminClient, BrokerApiError, type ConnectionStatus, type ConnectionSummary } from '../admin-client';
import { ownUrlProblem } from '../providers/secure-url';
import { connectionDetails, connectionsTable, keyValues, providersTable } from './format';

/** The exit codes scripts can branch on (also in `--help` and the README). */
export const EXIT = {
  ok: 0,
  /** The broker answered with an error (400, 409, 410, 424, 5xx…), or the stack has no ApiUrl output. */
  apiError: 1,
  /** The command line is wrong: nothing was sent. */
  usage: 2,
  /** The connection, provider or stack does not exist (404, or no such stack). */
  notFound: 3,
  /** Not allowed: no or wrong admin key (401), SigV4 refused (403), no AWS credentials. */
  notAuthorized: 4,
  /** The broker (or CloudFormation) could not be reached. */
  unreachable: 5,
} as const;

/**
 * The `--json` error code of a failure the CLI finds itself (no request answered), in the API's
 * snake_case vocabulary: a script reads `unauthorized` whether the broker refused the key or the
 * CLI found none.
 */
const CLI_ERROR_CODES: Record<number, string> = {
  [EXIT.apiError]: 'api_error',
  [EXIT.usage]: 'usage',
  [EXIT.notFound]: 'not_found',
  [EXIT.notAuthorized]: 'unauthorized',
  [EXIT.unreachable]: 'unreachable',
};

export const DEFAULT_URL = 'http://127.0.0.1:3000';

export const USAGE = `Usage: oauth-token-broker <command> [options]

Commands:
  connections list [--provider P] [--status S] [--tenant T] [--limit N] [--cursor C] [--all]
                                      list connections (one page; --all follows the cursor to the end)
  connections get ID                  describe a connection
  connections token ID                print a valid access token (secret: keep it out of logs)
  connections refresh ID              refresh the token now (once, fleet-wide); prints its new expiry
  connections revoke ID               revoke here and at the provider
  install-link PROVIDER [--connection-id ID] [--return-to URL]
                                      mint a signed install link for a customer (POST /install-links)
  providers list                      the enabled providers and how each connects

Target (the local broker unless --stack):
  --url URL        the broker (default BROKER_URL or ${DEFAULT_URL}); the admin key is sent
                   to it, so https, or http to localhost / 127.x.x.x / [::1] only
  --key KEY        the local admin key (default BROKER_ADMIN_KEY, else <data dir>/admin.key)
  --data-dir DIR   the local broker's data directory (default BROKER_DATA_DIR or .data)
  --stack NAME     a deployed stack: the API URL from its ApiUrl output, requests signed with
                   SigV4 using your AWS credentials (the default chain: env, profile, SSO, role)
  --region REGION  the stack's region (default: your AWS configuration)

Output:
  --json           the API's JSON on stdout (errors too), for scripts
  -h, --help       this text

Exit codes:
  0  ok
  1  the broker answered with an error (invalid request, conflict, revoked, needs reauth, provider failure…)
  2  usage: the command line is wrong, nothing was sent
  3  not found: no such connection, provider or stack
  4  not authorized: no or wrong admin key, SigV4 refused, no AWS credentials
  5  unreachable: the broker or CloudFormation did not answer
`;

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Record<string, string | undefined>;
  /** Where `.data` is looked for. @default process.cwd() */
  cwd?: string;
  fetch?: typeof fetch;
}

const OPTIONS = {
  url: { type: 'string' },
  key: { type: 'string' },
  'data-dir': { type: 'string' },
  stack: { type: 'string' },
  region: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  provider: { type: 'string' },
  status: { type: 'string' },
  tenant: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  all: { type: 'boolean' },
  'connection-id': { type: 'string' },
  'return-to': { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

const TARGET_OPTIONS = ['url', 'key', 'data-dir', 'stack', 'region', 'json', 'help'];

/** Each command: its positional arguments, the options it takes besides the target ones, and what it does. */
interface Command {
  args: string[];
  options: string[];
  run(client: AdminClient, args: string[], values: Values, out: Output): Promise<void>;
}

const COMMANDS: Record<string, Command> = {
  'connections list': {
    args: [],
    options: ['provider', 'status', 'tenant', 'limit', 'cursor', 'all'],
    async run(client, _args, values, out) {
      const limit = values.limit === undefined ? undefined : Number(values.limit);
      if (limit !== undefined && !Number.isInteger(limit)) throw new UsageError('--limit must be an integer');
      if (values.all && values.cursor !== undefined) throw new UsageError('--all starts at the first page: drop --cursor');
      const filters = { provider: values.provider, status: values.status as ConnectionStatus | undefined, tenant: values.tenant, limit };
      if (values.all) {
        const connections: ConnectionSummary[] = [];
        for await (const connection of client.connections(filters)) connections.push(connection);
        return out.result({ connections }, () => connectionsTable(connections));
      }
      const page = await client.listConnections({ ...filters, cursor: values.cursor });
      out.result(page, () => connectionsTable(page.connections));
      if (page.cursor && !out.json) out.note(`more: add --cursor ${page.cursor} (or --all)`);
    },
  },
  'connections get': {
    args: ['ID'],
    options: [],
    async run(client, [id], _values, out) {
      const connection = await client.getConnection(id!);
      out.result({ connection }, () => connectionDetails(connection));
    },
  },
  'connections token': {
    args: ['ID'],
    options: [],
    async run(client, [id], _values, out) {
      const token = await client.getToken(id!);
      out.result(token, () => keyValues(token));
    },
  },
  'connections refresh': {
    args: ['ID'],
    options: [],
    async run(client, [id], _values, out) {
      const token = await client.getToken(id!, { forceRefresh: true });
      // People get the new expiry, not the token: a refresh is often run where output is logged.
      out.result(token, () => `refreshed ${token.connection_id}: the access token now expires ${token.expires_at ?? 'never (no expiry given)'}\n`);
    },
  },
  'connections revoke': {
    args: ['ID'],
    options: [],
    async run(client, [id], _values, out) {
      const result = await client.revokeConnection(id!);
      out.result(result, () => `revoked ${result.connection.id}; at the provider: ${result.provider_revocation}${result.provider_error ? ` (${result.provider_error})` : ''}\n`);
    },
  },
  'install-link': {
    args: ['PROVIDER'],
    options: ['connection-id', 'return-to'],
    async run(client, [provider], values, out) {
      const link = await client.createInstallLink({
        provider: provider!,
        ...(values['connection-id'] !== undefined ? { connection_id: values['connection-id'] } : {}),
        ...(values['return-to'] !== undefined ? { return_to: values['return-to'] } : {}),
      });
      out.result(link, () => `${link.url}\nexpires ${link.expires_at}\n`);
    },
  },
  'providers list': {
    args: [],
    options: [],
    async run(client, _args, _values, out) {
      const list = await client.listProviders();
      out.result(list, () => providersTable(list));
    },
  },
};

class UsageError extends Error {}

/** What a command prints: the JSON for scripts, or the readable text. */
class Output {
  constructor(
    private readonly io: CliIo,
    readonly json: boolean,
  ) {}
  result(data: unknown, text: () => string): void {
    this.io.stdout.write(this.json ? `${JSON.stringify(data, null, 2)}\n` : text());
  }
  note(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }
}

/** Runs one command line; returns the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    return usage(io, (err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    io.stdout.write(USAGE);
    return values.help ? EXIT.ok : EXIT.usage;
  }
  const name = COMMANDS[positionals.slice(0, 2).join(' ')] ? positionals.slice(0, 2).join(' ') : positionals[0]!;
  const command = COMMANDS[name];
  if (!command) return usage(io, `unknown command "${positionals.slice(0, 2).join(' ')}"`);
  const args = positionals.slice(name.split(' ').length);
  if (args.length !== command.args.length) return usage(io, `${name} takes ${command.args.length === 0 ? 'no arguments' : command.args.join(' ')}`);
  // An ID travels as one path segment: empty, `.` and `..` cannot (the URL resolves the dots away, and
  // `DELETE /connections/` is "not found", which a script reads as "already gone"), so they are never sent.
  const idAt = command.args.indexOf('ID');
  if (idAt >= 0 && ['', '.', '..'].includes(args[idAt]!)) return usage(io, `${JSON.stringify(args[idAt])} is not a connection id`);
  const misplaced = Object.keys(values).filter((option) => !TARGET_OPTIONS.includes(option) && !command.options.includes(option));
  if (misplaced.length > 0) return usage(io, `${name} does not take --${misplaced[0]}`);

  const out = new Output(io, values.json === true);
  try {
    const { client, target } = await clientFor(values, io);
    try {
      await command.run(client, args, values, out);
    } catch (err) {
      // A failure that is not the broker's answer (refused, timed out) names where we looked.
      throw err instanceof BrokerApiError || err instanceof UsageError ? err : new TargetError(err, `the broker at ${target}`);
    }
    return EXIT.ok;
  } catch (err) {
    if (err instanceof UsageError) return usage(io, err.message);
    return failure(err, out, io);
  }
}

/** The client for the target the options name: a deployed stack, or the local broker. */
async function clientFor(values: Values, io: CliIo): Promise<{ client: AdminClient; target: string }> {
  const fetchOption = io.fetch ? { fetch: io.fetch } : {};
  if (values.stack !== undefined) {
    if (values.url !== undefined || values.key !== undefined || values['data-dir'] !== undefined) throw new UsageError('--stack finds the URL and signs with AWS credentials: drop --url, --key and --data-dir');
    const { readStackOutputs } = await import('../adapters/cloudformation-outputs');
    let stack;
    try {
      stack = await readStackOutputs(values.stack, values.region ? { region: values.region } : {});
    } catch (err) {
      throw new TargetError(err, `stack ${values.stack}`);
    }
    const url = stack.outputs.ApiUrl;
    if (!url) throw new TargetError(undefined, `stack ${values.stack} has no ApiUrl output: is it an oauth-token-broker stack?`, EXIT.apiError);
    return { client: new AdminClient({ url, sigv4: { region: stack.region }, ...fetchOption }), target: `${url} (stack ${values.stack})` };
  }
  if (values.region !== undefined) throw new UsageError('--region goes with --stack');
  const url = localBrokerUrl(values, io);
  return { client: new AdminClient({ url, adminKey: await adminKey(values, io), ...fetchOption }), target: url };
}

/**
 * The local target's URL (--url, else BROKER_URL, else the default), refused before the admin key is
 * read when the key would leave this machine in clear: the key is sent as a bearer token on every
 * request, so it goes over https, or plain http to a loopback host only (lib/providers/secure-url.ts,
 * the rule the broker applies to provider URLs). A deployed stack takes the --stack path: SigV4, no key.
 */
function localBrokerUrl(values: Values, io: CliIo): string {
  const source = values.url !== undefined ? '--url' : 'BROKER_URL';
  const raw = values.url ?? io.env.BROKER_URL ?? DEFAULT_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${source} ${JSON.stringify(withoutUserinfo(raw))} is not a URL`);
  }
  // Refused rather than redacted: fetch will not send a URL with credentials (and its error repeats
  // the URL, password included), and the broker takes the admin key, not a user name, so such a URL
  // never worked. The message names the part, not its value.
  const problem = ownUrlProblem(url);
  if (problem === 'userinfo') {
    throw new UsageError(`${source} carries a user name or password (user:password@): drop it; the broker takes the admin key (--key)`);
  }
  if (problem === 'transport') {
    throw new UsageError(
      `${source} ${url.protocol}//${url.host}: the admin key goes over https, or plain http to this machine only (localhost, 127.x.x.x, [::1]); use https, or a tunnel to 127.0.0.1; for a deployed stack, --stack NAME`,
    );
  }
  return raw;
}

/**
 * A string that is not a URL, fit to print: everything up to its last `@` (where a URL's user name
 * and password end) replaced, so a mistyped `https://user:password@host:port` does not print the password.
 */
function withoutUserinfo(value: string): string {
  return value.replace(/^([^@]*?\/\/)?[^]*@/, '$1…@');
}

/** --key, else BROKER_ADMIN_KEY, else the key file `npm start` keeps in its data directory. */
async function adminKey(values: Values, io: CliIo): Promise<string> {
  const given = values.key ?? io.env.BROKER_ADMIN_KEY;
  if (given) return given;
  const file = join(resolve(io.cwd ?? process.cwd(), values['data-dir'] ?? io.env.BROKER_DATA_DIR ?? '.data'), 'admin.key');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    throw new TargetError(undefined, `no admin key: pass --key, set BROKER_ADMIN_KEY, or run where npm start keeps its data (${file} not found)`, EXIT.notAuthorized);
  }
}

/** Reaching the target failed before any admin call: why, and the exit code that says so. */
class TargetError extends Error {
  constructor(
    readonly reason: unknown,
    message: string,
    readonly exitCode?: number,
  ) {
    super(message);
  }
}

function usage(io: CliIo, message: string): number {
  io.stderr.write(`error: ${message}\nRun oauth-token-broker --help for the commands.\n`);
  return EXIT.usage;
}

/** Prints the error (JSON on stdout with --json) and returns its exit code. */
function failure(err: unknown, out: Output, io: CliIo): number {
  if (err instanceof BrokerApiError) {
    if (out.json) io.stdout.write(`${JSON.stringify({ error: { code: err.code, message: err.message, status: err.status, ...(Object.keys(err.details).length ? { details: err.details } : {}) } }, null, 2)}\n`);
    io.stderr.write(`error: ${err.code} (HTTP ${err.status}): ${err.message}\n`);
    return err.status === 404 ? EXIT.notFound : err.status === 401 || err.status === 403 ? EXIT.notAuthorized : EXIT.apiError;
  }
  const { code, message } = classify(err);
  if (out.json) io.stdout.write(`${JSON.stringify({ error: { code: CLI_ERROR_CODES[code] ?? 'api_error', message } }, null, 2)}\n`);
  io.stderr.write(`error: ${message}\n`);
  return code;
}

/** The exit code and message of a failure that is not an answer of the broker. */
function classify(err: unknown): { code: number; message: string } {
  const context = err instanceof TargetError ? `${err.message}: ` : '';
  const cause = err instanceof TargetError ? err.reason : err;
  if (err instanceof TargetError && err.exitCode !== undefined) return { code: err.exitCode, message: err.message };
  const name = cause instanceof Error ? cause.name : '';
  const text = cause instanceof Error ? cause.message : String(cause);
  if (name === 'ValidationError' && /does not exist/.test(text)) return { code: EXIT.notFound, message: `${context}${text}` };
  if (name === 'CredentialsProviderError' || /AccessDenied|ExpiredToken|InvalidClientTokenId|SignatureDoesNotMatch|UnrecognizedClient/.test(name)) {
    return { code: EXIT.notAuthorized, message: `${context}${text}` };
  }
  // fetch's network failures are TypeErrors with the socket error as cause; the SDK's carry a code.
  const network = (cause as { cause?: { code?: string }; code?: string } | undefined)?.cause?.code ?? (cause as { code?: string } | undefined)?.code;
  if ((name === 'TypeError' && /fetch failed/.test(text)) || /^(ECONNREFUSED|ENOTFOUND|ECONNRESET|ETIMEDOUT|EAI_AGAIN)$/.test(network ?? '') || name === 'TimeoutError') {
    return { code: EXIT.unreachable, message: `${context}cannot reach it (${network ?? text})` };
  }
  return { code: EXIT.apiError, message: `${context}${text}` };
}
