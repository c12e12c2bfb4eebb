/**
 * The routes of the HTTP API, defined once. The CDK app builds API Gateway resources and one
 * function per route from this table; the Lambda handlers and the local server use it to match
 * requests, refuse events meant for another route and reject unknown query parameters. Both sides
 * import this module, so they cannot drift apart (test/contract checks the synthesized API too).
 */

export const ROUTE_NAMES = ['check', 'settle', 'status', 'reset', 'setOverride', 'getOverride', 'removeOverride'] as const;
export type RouteName = (typeof ROUTE_NAMES)[number];

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteContract {
  readonly name: RouteName;
  readonly method: HttpMethod;
  /** Resource path as API Gateway writes it in `event.resource`, e.g. `/v1/status/{creatorId}`. */
  readonly resource: string;
  /** One line for the API's documentation and the function's description. */
  readonly description: string;
  /** Whether the route takes a JSON object body. */
  readonly jsonBody: boolean;
  /** Administrative routes: stricter throttling and, in production, named admin principals only. */
  readonly administrative: boolean;
  /** The query parameters the route accepts; any other one is a 400. */
  readonly queryParameters: readonly string[];
}

export const ROUTES: Readonly<Record<RouteName, RouteContract>> = /* @__PURE__ */ Object.freeze({
  check: {
    name: 'check',
    method: 'POST',
    resource: '/v1/check',
    description: 'Admits or denies one AI request for a creator (POST /v1/check)',
    jsonBody: true,
    administrative: false,
    queryParameters: [],
  },
  settle: {
    name: 'settle',
    method: 'POST',
    resource: '/v1/settle',
    description: 'Settles the token reservation of an admitted request (POST /v1/settle)',
    jsonBody: true,
    administrative: false,
    queryParameters: [],
  },
  status: {
    name: 'status',
    method: 'GET',
    resource: '/v1/status/{creatorId}',
    description: 'Reports remaining quota without consuming it (GET /v1/status/{creatorId})',
    jsonBody: false,
    administrative: false,
    queryParameters: ['tier'],
  },
  reset: {
    name: 'reset',
    method: 'POST',
    resource: '/v1/reset',
    description: 'Clears the rate-limit state of a creator, administrative (POST /v1/reset)',
    jsonBody: true,
    administrative: true,
    queryParameters: [],
  },
  setOverride: {
    name: 'setOverride',
    method: 'PUT',
    resource: '/v1/overrides/{creatorId}',
    description: "Sets a creator's limits at runtime, administrative (PUT /v1/overrides/{creatorId})",
    jsonBody: true,
    administrative: true,
    queryParameters: ['tier'],
  },
  getOverride: {
    name: 'getOverride',
    method: 'GET',
    resource: '/v1/overrides/{creatorId}',
    description: "Reads a creator's override, administrative (GET /v1/overrides/{creatorId})",
    jsonBody: false,
    administrative: true,
    queryParameters: ['tier'],
  },
  removeOverride: {
    name: 'removeOverride',
    method: 'DELETE',
    resource: '/v1/overrides/{creatorId}',
    description: "Removes a creator's override, administrative (DELETE /v1/overrides/{creatorId})",
    jsonBody: false,
    administrative: true,
    queryParameters: ['tier'],
  },
});

/** The routes in a stable order (the order of ROUTE_NAMES). */
export const ROUTE_LIST: readonly RouteContract[] = ROUTE_NAMES.map((name) => ROUTES[name]);

/** Path segments below the API root, e.g. ['v1', 'status', '{creatorId}']. */
export function resourceSegments(route: RouteContract): string[] {
  return route.resource.split('/').filter((segment) => segment.length > 0);
}
