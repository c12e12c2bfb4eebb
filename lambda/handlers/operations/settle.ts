/**
 * POST /v1/settle {creatorId, tier, requestId, tokens}: reconciles the reservation of an admitted
 * request with the tokens actually used (refund or overage) and releases its in-flight slot.
 * Idempotent. The rate-limit headers describe usage after the settlement, which the same backend
 * call reads back (one round trip).
 */
import type { Operation } from '../../shared/api-handler';
import { jsonResponse } from '../../shared/http';
import { statusHeaders } from '../../shared/rate-limit-headers';
import { jsonBody } from '../../shared/request';
import { SettleBody } from '../../shared/schemas';

export const settleOperation: Operation = {
  route: 'settle',
  async run({ request, limiter, useTier, call }) {
    const { creatorId, tier, requestId, tokens } = jsonBody(request, SettleBody);
    useTier(tier);
    const { status, ...settlement } = await call(() => limiter.settleWithStatus(creatorId, tier, requestId, tokens));
    return jsonResponse(200, settlement, statusHeaders(status));
  },
};
