/**
 * What Next.js does with the example on the edge runtime, reduced to what the example relies on:
 * the middleware runs first for paths its matcher covers and a Response from it ends the request;
 * otherwise the route handler for the path and method answers. Bundled as a fetch listener.
 */
import { POST } from '../../examples/nextjs-edge/app/api/generate/route';
import { config, middleware } from '../../examples/nextjs-edge/middleware';

interface FetchEvent {
  readonly request: Request;
  respondWith(response: Promise<Response>): void;
}
declare function addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void;

const MATCHED_PREFIX = config.matcher.replace('/:path*', '/');

async function handle(request: Request): Promise<Response> {
  const { pathname } = new URL(request.url);
  if (pathname.startsWith(MATCHED_PREFIX)) {
    const early = await middleware(request.clone());
    if (early) return early;
  }
  if (pathname === '/api/generate' && request.method === 'POST') return POST(request);
  return new Response('Not found', { status: 404 });
}

addEventListener('fetch', (event) => event.respondWith(handle(event.request)));
