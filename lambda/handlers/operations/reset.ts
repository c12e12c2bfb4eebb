/**
 * POST /v1/reset {creatorId, tier?} (administrative): forgets all usage of the creator, under
 * every tier. `tier` (default `pro`) only chooses the policies the response headers describe.
 */
import { DEFAULT_TIER } from '../../shared/library';
import type { Operation } from '../../shared/api-handler';
import { jsonResponse } from '../../shared/http';
import { statusHeaders } from '../../shared/rate-limit-headers';
import { BadRequestError, jsonBody } from '../../shared/request';
import { ResetBody } from '../../shared/schemas';

export const resetOperation: Operation = {
  route: 'reset',
  async run({ request, limiter, useTier, call }) {
    const { creatorId, tier = DEFAULT_TIER } = jsonBody(request, ResetBody);
    // Checked before anything is erased: a mistyped tier must not reset and then fail.
    if (!Object.prototype.hasOwnProperty.call(limiter.tiers, tier)) {
      throw new BadRequestError(
        'tier',
        `must be one of ${Object.keys(limiter.tiers)
          .map((name) => `"${name}"`)
          .join(', ')}`,
      );
    }
    useTier(tier);
    await call(() => limiter.reset(creatorId));
    const status = await call(() => limiter.status(creatorId, tier));
    return jsonResponse(200, { creatorId: status.creatorId, reset: true }, statusHeaders(status));
  },
};
