/**
 * Signs fetch `Request`s with AWS Signature Version 4 for API Gateway (`execute-api`), with the
 * caller's AWS credentials from the default chain (environment, SSO, shared config, container,
 * instance). Used by the admin client and the CLI against a deployed stack, whose admin routes
 * are IAM-authorized. The SDK modules load on the first signed request, so neither `getToken`
 * users nor the admin client against a local broker (bearer key) ever load them.
 */
import { BrokerError } from '../errors';

/** AWS credentials (the shape the SDK's providers return). */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export interface SigV4Options {
  /** The API's region; default: from an `*.execute-api.<region>.amazonaws.com` URL, else AWS_REGION / AWS_DEFAULT_REGION. */
  region?: string;
  /** Default: the SDK's default credential chain. */
  credentials?: AwsCredentials | (() => Promise<AwsCredentials>);
  /** @default 'execute-api' */
  service?: string;
}

/** The region of an API Gateway URL (`abc123.execute-api.eu-west-1.amazonaws.com`), if it is one. */
export function regionOfApiUrl(url: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(new URL(url).hostname)?.[1];
}

/** A function that returns `request` signed (a new Request with the SigV4 headers; the body is read once and sent as is). */
export function sigV4RequestSigner(options: SigV4Options = {}): (request: Request) => Promise<Request> {
  let signer: Promise<{ sign(request: unknown): Promise<{ headers: Record<string, string> }> }> | undefined;
  const load = async (url: string) => {
    const region = options.region ?? regionOfApiUrl(url) ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (!region) throw new BrokerError('configuration_error', 'SigV4 needs a region: an execute-api URL names one, else set AWS_REGION');
    const [{ SignatureV4 }, { Sha256 }] = await Promise.all([import('@smithy/signature-v4'), import('@smithy/core/checksum')]);
    const credentials = options.credentials ?? (await import('@aws-sdk/credential-provider-node')).defaultProvider();
    return new SignatureV4({ service: options.service ?? 'execute-api', region, credentials, sha256: Sha256 });
  };
  return async (request) => {
    signer ??= load(request.url);
    const url = new URL(request.url);
    const body = request.body === null ? undefined : await request.clone().text();
    const headers: Record<string, string> = { host: url.host };
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const query: Record<string, string | string[]> = {};
    for (const [name, value] of url.searchParams) {
      const seen = query[name];
      query[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
    }
    const signed = await (await signer).sign({
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers,
      body,
    });
    // fetch sets Host itself, from the URL: the value that was signed.
    const { host: _host, ...sent } = signed.headers;
    return new Request(request.url, { method: request.method, headers: sent, ...(body === undefined ? {} : { body }), signal: request.signal });
  };
}
