/**
 * GET /v1/status/{creatorId}?tier=pro: current usage under every policy of the tier; consumes
 * nothing. `tier` defaults to `pro`, the library's default tier.
 */
import { DEFAULT_TIER } from '../../shared/library';
import type { Operation } from '../../shared/api-handler';
import { jsonResponse } from '../../shared/http';
import { statusHeaders } from '../../shared/rate-limit-headers';
import { pathParameter, queryParameters } from '../../shared/request';
import { StatusQuery } from '../../shared/schemas';

export const statusOperation: Operation = {
  route: 'status',
  async run({ request, limiter, useTier, call }) {
    const creatorId = pathParameter(request, 'creatorId');
    const { tier = DEFAULT_TIER } = queryParameters(request, StatusQuery);
    useTier(tier);
    const status = await call(() => limiter.status(creatorId, tier));
    return jsonResponse(200, status, statusHeaders(status));
  },
};
