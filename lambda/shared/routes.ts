/**
 * Matching requests against the routes of the HTTP API. The route table itself is the contract's
 * (lambda/contract/routes.ts), shared with the CDK app: the Lambda handlers use it to refuse events
 * meant for another route, and the local server uses it to pick the handler of a request, so both
 * agree with the deployed API on what exists and on what is a 404.
 */
import { ROUTE_LIST, type RouteContract } from '../contract/routes';

export { ROUTE_NAMES, ROUTES, type RouteContract, type RouteName } from '../contract/routes';

export interface RouteMatch {
  readonly route: RouteContract;
  /** Path parameters, percent-decoded as API Gateway passes them. */
  readonly pathParameters: Readonly<Record<string, string>>;
}

/** A path segment could not be percent-decoded; `parameter` names the template variable. */
export class PathDecodingError extends Error {
  constructor(readonly parameter: string) {
    super(`path parameter "${parameter}" is not valid percent-encoding`);
  }
}

/**
 * Matches a concrete path (without query string) against one resource template. Template variables
 * (`{name}`) match exactly one non-empty segment; everything else must match literally. Returns the
 * decoded parameters, or undefined when the path does not fit the template.
 */
export function matchResource(resource: string, path: string): Record<string, string> | undefined {
  const expected = resource.split('/');
  const actual = path.split('/');
  if (expected.length !== actual.length) return undefined;
  const parameters: Record<string, string> = {};
  for (let index = 0; index < expected.length; index += 1) {
    const template = expected[index];
    const segment = actual[index];
    const variable = /^\{([A-Za-z0-9_]+)\}$/.exec(template)?.[1];
    if (variable === undefined) {
      if (template !== segment) return undefined;
      continue;
    }
    if (segment.length === 0) return undefined;
    try {
      parameters[variable] = decodeURIComponent(segment);
    } catch {
      throw new PathDecodingError(variable);
    }
  }
  return parameters;
}

/**
 * The methods some route serves at this path (for `Allow`). Empty means no route has the path: 404;
 * otherwise a method outside the list is a 405. `resource`, when API Gateway gave one, decides
 * instead of the path (behind a custom domain the path carries the base path mapping too).
 */
export function allowedMethods(path: string, resource?: string): string[] {
  const methods = new Set<string>();
  for (const route of ROUTE_LIST) {
    const fits = resource !== undefined ? route.resource === resource : matchesQuietly(route.resource, path);
    if (fits) methods.add(route.method);
  }
  return [...methods].sort();
}

function matchesQuietly(resource: string, path: string): boolean {
  try {
    return matchResource(resource, path) !== undefined;
  } catch {
    return true; // the segment is there but undecodable: the route fits, its parameter is bad
  }
}

/** Finds the route serving `method path`; undefined means 404 or 405 (see allowedMethods). */
export function findRoute(method: string, path: string): RouteMatch | undefined {
  for (const route of ROUTE_LIST) {
    if (route.method !== method) continue;
    const pathParameters = matchResource(route.resource, path);
    if (pathParameters) return { route, pathParameters };
  }
  return undefined;
}
