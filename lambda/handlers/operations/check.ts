/**
 * POST /v1/check {creatorId, tier, tokens?, requestId?}: admits one AI request (reserving `tokens`
 * when given) and answers the decision, or 429 when a policy of the tier is exhausted.
 */
import type { Operation } from '../../shared/api-handler';
import { jsonResponse } from '../../shared/http';
import { METRIC } from '../../shared/metrics';
import { statusHeaders } from '../../shared/rate-limit-headers';
import { jsonBody } from '../../shared/request';
import { CheckBody } from '../../shared/schemas';

export const checkOperation: Operation = {
  route: 'check',
  async run({ request, limiter, useTier, call, count }) {
    const { creatorId, tier, tokens, requestId } = jsonBody(request, CheckBody);
    useTier(tier);
    const decision = await call(() =>
      limiter.check(creatorId, tier, {
        // Only the fields the caller sent: `tokens` present means "reserve", even when 0.
        ...(tokens === undefined ? {} : { tokens }),
        ...(requestId === undefined ? {} : { requestId }),
      }),
    );
    count(decision.degraded ? METRIC.degraded : METRIC.allowed);
    return jsonResponse(200, decision, statusHeaders(decision));
  },
};
