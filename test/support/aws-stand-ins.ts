/**
 * Local stand-ins for a deployed stack, for the CLI's `--stack` path:
 *
 * - `startSigV4Gateway`: API Gateway with IAM authorization in front of the local broker. It
 *   checks each request's AWS Signature Version 4 — recomputed here from the raw request with
 *   node:crypto, independently of the signing library the client uses — and refuses a missing
 *   or wrong one with 403 as API Gateway does; a valid one is forwarded with the admin key.
 * - `startFakeCloudFormation`: DescribeStacks (the awsQuery protocol the SDK speaks) answering
 *   with the outputs given, or "does not exist"; it checks the signature the same way.
 */
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface StandIn {
  url: string;
  /** Requests that passed the signature check, and those refused. */
  accepted: number;
  refused: string[];
  close(): Promise<void>;
}

const hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
/** RFC 3986 encoding, as SigV4 wants it. */
const encode = (text: string) => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Why the request's SigV4 signature is not valid for `service` in `region` with `credentials`, or
 * undefined when it is. Canonical request per the SigV4 documentation: every path segment
 * encoded again (all services but S3), query sorted and encoded, the signed headers, the body hash.
 */
export function sigV4Problem(request: { method: string; rawUrl: string; headers: IncomingMessage['headers']; body: Buffer }, expected: { service: string; region: string; credentials: TestCredentials }): string | undefined {
  const authorization = String(request.headers.authorization ?? '');
  const parts = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(authorization);
  if (!parts) return 'no SigV4 Authorization header';
  const [, accessKeyId, date, region, service, signedHeaders, signature] = parts as unknown as string[];
  if (accessKeyId !== expected.credentials.accessKeyId) return 'unknown access key';
  if (service !== expected.service || region !== expected.region) return `signed for ${service} in ${region}`;
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  if (!amzDate.startsWith(date!)) return 'x-amz-date does not match the credential scope';
  const signedAt = Date.parse(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (!(Math.abs(Date.now() - signedAt) < 5 * 60_000)) return 'signature too old';
  const names = signedHeaders!.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) return 'host and x-amz-date must be signed';

  const url = new URL(request.rawUrl, 'http://stand-in');
  const canonicalPath = url.pathname.split('/').map(encode).join('/');
  const canonicalQuery = [...url.searchParams]
    .map(([k, v]) => [encode(k), encode(v)])
    .sort(([a, x], [b, y]) => (a! < b! ? -1 : a! > b! ? 1 : x! < y! ? -1 : x! > y! ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalHeaders = names.map((name) => `${name}:${String(request.headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const payloadHash = String(request.headers['x-amz-content-sha256'] ?? hex(request.body));
  const canonicalRequest = [request.method, canonicalPath, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${expected.credentials.secretAccessKey}`, date!), region!), service!), 'aws4_request');
  return createHmac('sha256', key).update(stringToSign).digest('hex') === signature ? undefined : 'signature does not match';
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Starts `server` on loopback; the stand-in reads its counts from `state`. */
async function standIn(server: Server, state: { accepted: number; refused: string[] }): Promise<StandIn> {
  const url = await listen(server);
  return {
    url,
    get accepted() {
      return state.accepted;
    },
    get refused() {
      return state.refused;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** API Gateway with IAM auth in front of the local broker at `brokerUrl`. */
export async function startSigV4Gateway(options: { brokerUrl: string; adminKey: string; region: string; credentials: TestCredentials }): Promise<StandIn> {
  const state = { accepted: 0, refused: [] as string[] };
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const problem = sigV4Problem({ method: req.method ?? 'GET', rawUrl: req.url ?? '/', headers: req.headers, body }, { service: 'execute-api', region: options.region, credentials: options.credentials });
      if (problem) {
        state.refused.push(problem);
        res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Forbidden' }));
        return;
      }
      state.accepted += 1;
      const forwarded = await fetch(`${options.brokerUrl}${req.url}`, {
        method: req.method,
        headers: { authorization: `Bearer ${options.adminKey}`, ...(req.headers['content-type'] ? { 'content-type': String(req.headers['content-type']) } : {}) },
        ...(body.length > 0 ? { body } : {}),
      });
      res.writeHead(forwarded.status, { 'content-type': forwarded.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await forwarded.arrayBuffer()));
    })();
  });
  return standIn(server, state);
}

const xmlEscape = (text: string) => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** CloudFormation's DescribeStacks for the stacks given (name → outputs). */
export async function startFakeCloudFormation(options: { region: string; credentials: TestCredentials; stacks: Record<string, Record<string, string>> }): Promise<StandIn> {
  const state = { accepted: 0, refused: [] as string[] };
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const problem = sigV4Problem({ method: req.method ?? 'POST', rawUrl: req.url ?? '/', headers: req.headers, body }, { service: 'cloudformation', region: options.region, credentials: options.credentials });
      const form = new URLSearchParams(body.toString('utf8'));
      const xml = (status: number, text: string) => res.writeHead(status, { 'content-type': 'text/xml' }).end(text);
      const error = (status: number, code: string, message: string) =>
        xml(status, `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>1</RequestId></ErrorResponse>`);
      if (problem) {
        state.refused.push(problem);
        return error(403, 'SignatureDoesNotMatch', problem);
      }
      state.accepted += 1;
      if (form.get('Action') !== 'DescribeStacks') return error(400, 'InvalidAction', `unsupported ${form.get('Action')}`);
      const name = form.get('StackName') ?? '';
      const outputs = options.stacks[name];
      if (!outputs) return error(400, 'ValidationError', `Stack with id ${name} does not exist`);
      const members = Object.entries(outputs)
        .map(([k, v]) => `<member><OutputKey>${xmlEscape(k)}</OutputKey><OutputValue>${xmlEscape(v)}</OutputValue></member>`)
        .join('');
      xml(
        200,
        `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>` +
          `<StackName>${xmlEscape(name)}</StackName><StackId>arn:aws:cloudformation:${options.region}:123456789012:stack/${xmlEscape(name)}/1</StackId>` +
          `<CreationTime>2026-01-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs>${members}</Outputs>` +
          `</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeStacksResponse>`,
      );
    })();
  });
  return standIn(server, state);
}
