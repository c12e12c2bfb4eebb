/**
 * The scenario transport over real HTTP, for tests of the local server. Every call and reply is
 * checked against docs/openapi.yaml.
 */
import type { ApiTransport } from './http-scenarios';
import { bodyBytes } from './lambda-events';
import { replyOf } from './lambda-runtime';
import { withContractCheck } from './openapi-contract';

export function httpTransport(baseUrl: string): ApiTransport {
  return withContractCheck(async (call) => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(call.headers ?? {})) {
      for (const item of typeof value === 'string' ? [value] : value) headers.append(name, item);
    }
    const body = bodyBytes(call);
    if (body && !headers.has('content-type')) headers.set('content-type', 'application/json');
    const response = await fetch(`${baseUrl}${call.path}`, { method: call.method, headers, body, redirect: 'manual' });
    const responseHeaders: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      responseHeaders[name] = value;
    });
    return replyOf(response.status, responseHeaders, await response.text());
  });
}
