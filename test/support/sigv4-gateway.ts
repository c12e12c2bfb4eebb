/**
 * A loopback stand-in for API Gateway in front of the rate-limit API, for tests of the http
 * client: it checks each request's SigV4 signature the way IAM authorization does (recomputed with
 * AWS's signer from fixed test credentials; a missing or wrong one is a 403 problem, as API
 * Gateway answers), then forwards it. It can also lose a response after the upstream handled the
 * request, the failure that makes a client resend.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity } from '@smithy/types';

export interface ForwardedRequest {
  readonly method: string;
  /** Path and query as received. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export interface ForwardedResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export type Forward = (request: ForwardedRequest) => Promise<ForwardedResponse>;

export interface GatewayOptions {
  readonly forward: Forward;
  /** Verify SigV4 against these credentials (service execute-api); omitted: no authorization. */
  readonly iam?: { readonly credentials: AwsCredentialIdentity; readonly region: string };
  /** Handle this many requests upstream, then drop the connection instead of answering. @default 0 */
  readonly loseResponses?: number;
}

export interface LoopbackGateway {
  readonly url: string;
  /** Every request received, in order. */
  readonly received: ForwardedRequest[];
  stop(): Promise<void>;
}

/** Forwards to a server over HTTP (the local server). */
export function forwardTo(baseUrl: string): Forward {
  return async (request) => {
    const headers = Object.fromEntries(
      Object.entries(request.headers).filter(([name]) => !['host', 'connection', 'content-length'].includes(name)),
    );
    const response = await fetch(`${baseUrl}${request.url}`, {
      method: request.method,
      headers,
      body: request.body.length > 0 ? request.body : undefined,
    });
    const responseHeaders: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      if (!['connection', 'keep-alive', 'transfer-encoding', 'content-length'].includes(name)) responseHeaders[name] = value;
    });
    return { status: response.status, headers: responseHeaders, body: await response.text() };
  };
}

export async function startLoopbackGateway(options: GatewayOptions): Promise<LoopbackGateway> {
  const received: ForwardedRequest[] = [];
  let toLose = options.loseResponses ?? 0;
  const server: Server = createServer((incoming, outgoing) => {
    void (async () => {
      const request: ForwardedRequest = {
        method: incoming.method ?? 'GET',
        url: incoming.url ?? '/',
        headers: singleValued(incoming),
        body: await readAll(incoming),
      };
      received.push(request);
      if (options.iam && !(await signatureIsValid(request, options.iam.credentials, options.iam.region))) {
        const problem = {
          type: 'urn:creator-rate-limit:problem:forbidden',
          title: 'Forbidden',
          status: 403,
          detail: 'The request signature is missing or wrong.',
        };
        outgoing.writeHead(403, { 'content-type': 'application/problem+json' }).end(JSON.stringify(problem));
        return;
      }
      const response = await options.forward(request);
      if (toLose > 0) {
        toLose -= 1;
        incoming.socket.destroy(); // handled upstream, answer lost on the way back
        return;
      }
      outgoing.writeHead(response.status, response.headers).end(response.body);
    })().catch(() => outgoing.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Recomputes the signature of the request from the headers it says it signed, with the signer's
 * own canonicalisation, and compares the whole Authorization header (scope, signed headers and
 * signature).
 */
export async function signatureIsValid(request: ForwardedRequest, credentials: AwsCredentialIdentity, region: string): Promise<boolean> {
  const authorization = request.headers.authorization;
  const amzDate = request.headers['x-amz-date'];
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization ?? '')?.[1]?.split(';');
  if (!authorization || !amzDate || !signedHeaders) return false;
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!date) return false;
  const signingDate = new Date(Date.UTC(+date[1], +date[2] - 1, +date[3], +date[4], +date[5], +date[6]));
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = request.headers[name];
    if (value === undefined) return false;
    headers[name] = value;
  }
  const url = new URL(request.url, `http://${request.headers.host}`);
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const existing = query[key];
    query[key] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  const signer = new SignatureV4({ service: 'execute-api', region, credentials, sha256: Hash.bind(null, 'sha256') });
  const expected = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: request.url.split('?')[0],
      query,
      headers,
      body: request.body.length > 0 ? request.body.toString('utf8') : undefined,
    },
    { signingDate },
  );
  return expected.headers.authorization === authorization;
}

function singleValued(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function readAll(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}
