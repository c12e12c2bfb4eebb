/**
 * POST /v1/reset {creatorId, tier?} (administrative): forgets all usage of the creator, under
 * every tier. `tier` (default `pro`) only chooses the policies the response headers describe.
 */
import { DEFAULT_TIER } from '../../shared/library';
import type { Operation } from '../../shared/api-handler';
import { jsonResponse } from '../../shared/http';
import { statusHeaders } from '../../shared/rate-limit-headers';
import { jsonBody } from '../../shared/request';
import { ResetBody } from '../../shared/schemas';
import { headerTier } from './header-tier';

export const resetOperation: Operation = {
  route: 'reset',
  async run(context) {
    const { request, limiter, call } = context;
    const { creatorId, tier: requestedTier = DEFAULT_TIER } = jsonBody(request, ResetBody);
    const tier = headerTier(context, requestedTier);
    await call(() => limiter.reset(creatorId));
    const status = await call(() => limiter.status(creatorId, tier));
    return jsonResponse(200, { creatorId: status.creatorId, reset: true }, statusHeaders(status));
  },
};
