/**
 * What the local server refuses before a request reaches a handler: requests a browser sends on
 * behalf of another site. The server has no authentication (API Gateway's IAM authorization does
 * not exist locally) and runs on a developer's machine, often against a real Redis; without this,
 * any web page the developer visits could POST `text/plain` to http://127.0.0.1:3000/v1/reset (a
 * "simple" request, sent without a CORS preflight) and reset a real creator.
 *
 * The rules, each answered with problem+json naming the header:
 * - `Host` must name this server (127.0.0.1 or localhost on its port): 403. This defeats DNS
 *   rebinding, where a foreign page reaches the server under its own host name and so counts as
 *   same-origin for the browser.
 * - `Origin`, when present, must be this server's own origin: 403. Browsers send it on every
 *   cross-origin request and every POST; curl, SDKs and other servers do not send it.
 * - `Sec-Fetch-Site`, when present, must be `same-origin` or `none` (typed in the address bar): 403.
 *   It covers cross-site GETs, which carry no Origin.
 * - A body sent to a route that reads JSON requires `Content-Type: application/json`: 415. A browser
 *   cannot send that type cross-site without a preflight, which this server never grants.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { forbidden, unsupportedMediaType, type ApiResponse } from '../../lambda/shared/http';

const LOCAL_HOST_NAMES = ['127.0.0.1', 'localhost'];

/** The refusal for a request that does not come from this server's own pages or from a non-browser client. */
export function crossSiteRefusal(headers: IncomingHttpHeaders, port: number): ApiResponse | undefined {
  const host = headers.host?.toLowerCase();
  if (host === undefined || !LOCAL_HOST_NAMES.some((name) => host === `${name}:${port}`)) {
    return forbidden(
      'Host',
      `must be 127.0.0.1:${port} or localhost:${port} (this server), got ${JSON.stringify((host ?? '').slice(0, 100))}`,
    );
  }
  const origin = headers.origin;
  if (origin !== undefined && !LOCAL_HOST_NAMES.some((name) => origin.toLowerCase() === `http://${name}:${port}`)) {
    return forbidden(
      'Origin',
      `cross-origin requests are refused (got ${JSON.stringify(origin.slice(0, 100))}); call the API from a server, curl or this origin`,
    );
  }
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return forbidden('Sec-Fetch-Site', `cross-site requests are refused (got ${JSON.stringify(site.slice(0, 32))})`);
  }
  return undefined;
}

/** 415 unless Content-Type is application/json (any letter case, parameters such as charset allowed). */
export function jsonContentTypeRefusal(headers: IncomingHttpHeaders): ApiResponse | undefined {
  const contentType = headers['content-type'];
  const mediaType = contentType?.split(';')[0]!.trim().toLowerCase();
  return mediaType === 'application/json' ? undefined : unsupportedMediaType(contentType);
}
