/**
 * PUT, GET and DELETE /v1/overrides/{creatorId}?tier=pro (administrative): a creator's limits set at
 * runtime. Every change is logged with who made it (the caller's IAM principal) and the reason.
 * `tier` only chooses the policies the response's rate-limit headers describe (the override
 * applies on every tier that has the policies it names).
 */
import { DEFAULT_TIER, type RateLimiter } from '../../shared/library';
import type { Operation, OperationContext } from '../../shared/api-handler';
import { jsonResponse, type ApiResponse } from '../../shared/http';
import { statusHeaders } from '../../shared/rate-limit-headers';
import { jsonBody, pathParameter, queryParameters } from '../../shared/request';
import { OverrideBody, StatusQuery } from '../../shared/schemas';
import { headerTier } from './header-tier';

/** The tier whose policies the headers describe (`?tier=`, default `pro`), checked before anything changes. */
function queriedTier(context: OperationContext): string {
  const { tier = DEFAULT_TIER } = queryParameters(context.request, StatusQuery);
  return headerTier(context, tier);
}

/** The 200: `body`, and the creator's usage under `tier` (limits as now overridden) as headers. */
async function answer(
  context: OperationContext,
  limiter: RateLimiter,
  creatorId: string,
  tier: string,
  body: object,
): Promise<ApiResponse> {
  const status = await context.call(() => limiter.status(creatorId, tier));
  return jsonResponse(200, { creatorId: status.creatorId, ...body }, statusHeaders(status));
}

export const setOverrideOperation: Operation = {
  route: 'setOverride',
  async run(context) {
    const { request, limiter, call, audit } = context;
    const creatorId = pathParameter(request, 'creatorId');
    const tier = queriedTier(context);
    const { policies, expiresAt, reason } = jsonBody(request, OverrideBody);
    const input = { policies: policies as Record<string, { limit: number }>, reason, ...(expiresAt === undefined ? {} : { expiresAt }) };
    const override = await call(() => limiter.setOverride(creatorId, input));
    audit('rate-limit override set', {
      action: 'set',
      creatorId: override.creatorId,
      policies: override.policies,
      expiresAt: override.expiresAt,
      reason,
    });
    return answer(context, limiter, creatorId, tier, { override });
  },
};

export const getOverrideOperation: Operation = {
  route: 'getOverride',
  async run(context) {
    const { request, limiter, call } = context;
    const creatorId = pathParameter(request, 'creatorId');
    const tier = queriedTier(context);
    const override = await call(() => limiter.getOverride(creatorId));
    return answer(context, limiter, creatorId, tier, { override: override ?? null });
  },
};

export const removeOverrideOperation: Operation = {
  route: 'removeOverride',
  async run(context) {
    const { request, limiter, call, audit } = context;
    const creatorId = pathParameter(request, 'creatorId');
    const tier = queriedTier(context);
    const previous = await call(() => limiter.getOverride(creatorId));
    const removed = await call(() => limiter.removeOverride(creatorId));
    audit('rate-limit override removed', { action: 'remove', creatorId, removed, reason: previous?.reason });
    return answer(context, limiter, creatorId, tier, { removed });
  },
};
