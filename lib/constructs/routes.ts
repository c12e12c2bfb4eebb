import * as path from 'node:path';

/** Route (and function) names of the HTTP API, DESIGN.md section 5. */
export const ROUTE_NAMES = ['check', 'settle', 'status', 'reset'] as const;
export type RouteName = (typeof ROUTE_NAMES)[number];

/** One route of the HTTP API and the handler that serves it. */
export interface RouteDefinition {
  readonly name: RouteName;
  readonly method: 'GET' | 'POST';
  /** Path segments below the API root, e.g. ['v1', 'status', '{creatorId}']. */
  readonly pathParts: readonly string[];
  /** Absolute path of the handler entry file (exports `handler`). */
  readonly entry: string;
  readonly description: string;
  /** Whether the route takes a JSON object body. */
  readonly jsonBody: boolean;
  /** Administrative routes get a stricter throttle and an optional caller allow-list. */
  readonly administrative: boolean;
}

const HANDLERS_DIR = path.join(__dirname, '..', '..', 'lambda', 'handlers');

/** The public HTTP contract. Keep in step with DESIGN.md section 5. */
export const RATE_LIMIT_ROUTES: readonly RouteDefinition[] = [
  {
    name: 'check',
    method: 'POST',
    pathParts: ['v1', 'check'],
    entry: path.join(HANDLERS_DIR, 'check.ts'),
    description: 'Admits or denies one AI request for a creator (POST /v1/check)',
    jsonBody: true,
    administrative: false,
  },
  {
    name: 'settle',
    method: 'POST',
    pathParts: ['v1', 'settle'],
    entry: path.join(HANDLERS_DIR, 'settle.ts'),
    description: 'Settles the token reservation of an admitted request (POST /v1/settle)',
    jsonBody: true,
    administrative: false,
  },
  {
    name: 'status',
    method: 'GET',
    pathParts: ['v1', 'status', '{creatorId}'],
    entry: path.join(HANDLERS_DIR, 'status.ts'),
    description: 'Reports remaining quota without consuming it (GET /v1/status/{creatorId})',
    jsonBody: false,
    administrative: false,
  },
  {
    name: 'reset',
    method: 'POST',
    pathParts: ['v1', 'reset'],
    entry: path.join(HANDLERS_DIR, 'reset.ts'),
    description: 'Clears the rate-limit state of a creator, administrative (POST /v1/reset)',
    jsonBody: true,
    administrative: true,
  },
];

/** Resource path as API Gateway writes it, e.g. `/v1/status/{creatorId}`. */
export function resourcePath(route: RouteDefinition): string {
  return `/${route.pathParts.join('/')}`;
}
