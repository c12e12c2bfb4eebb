/**
 * Every route's operation, for servers that host all routes in one process (the local server,
 * tests). Lambda deploys each route as its own function instead, from an entry that binds the
 * operation to one backend (lambda/handlers/<backend>/<route>.ts).
 */
import { createApiHandler, type ApiHandler, type Operation } from '../../shared/api-handler';
import type { ApiRuntime } from '../../shared/runtime';
import type { RouteName } from '../../shared/routes';
import { checkOperation } from './check';
import { getOverrideOperation, removeOverrideOperation, setOverrideOperation } from './overrides';
import { resetOperation } from './reset';
import { settleOperation } from './settle';
import { statusOperation } from './status';

export const OPERATIONS: Readonly<Record<RouteName, Operation>> = Object.freeze({
  check: checkOperation,
  settle: settleOperation,
  status: statusOperation,
  reset: resetOperation,
  setOverride: setOverrideOperation,
  getOverride: getOverrideOperation,
  removeOverride: removeOverrideOperation,
});

/** One handler per route, all on `runtime` (one backend client for the whole process). */
export function createApiHandlers(runtime: ApiRuntime): Readonly<Record<RouteName, ApiHandler>> {
  return {
    check: createApiHandler(OPERATIONS.check, runtime),
    settle: createApiHandler(OPERATIONS.settle, runtime),
    status: createApiHandler(OPERATIONS.status, runtime),
    reset: createApiHandler(OPERATIONS.reset, runtime),
    setOverride: createApiHandler(OPERATIONS.setOverride, runtime),
    getOverride: createApiHandler(OPERATIONS.getOverride, runtime),
    removeOverride: createApiHandler(OPERATIONS.removeOverride, runtime),
  };
}
