/** What a test needs to see of one HTTP exchange with the emulator. */
export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed body; `undefined` when the body is not JSON. */
  json: unknown;
}

export interface RawRequest {
  method?: string;
  /** Sent verbatim when a string, JSON-encoded otherwise. */
  body?: unknown;
  token?: string | null;
  base64?: boolean;
  headers?: Record<string, string>;
}

/**
 * Talks to the emulator with plain fetch, bypassing @upstash/redis, to assert
 * the exact wire format (status codes, headers, encoded bodies) that the
 * client would otherwise hide.
 */
export async function rawRequest(baseUrl: string, path: string, request: RawRequest = {}): Promise<RawResponse> {
  const headers: Record<string, string> = { ...request.headers };
  if (request.token !== null && request.token !== undefined) headers.authorization = `Bearer ${request.token}`;
  if (request.base64 ?? true) headers['Upstash-Encoding'] = 'base64';
  const method = request.method ?? 'POST';
  const body = request.body === undefined ? undefined : typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
