/** The status function of the Upstash stack: only the Upstash client is bundled. */
import { createRateLimiter } from '../../rate-limit/upstash';
import { lambdaHandler } from '../../shared/api-handler';
import { statusOperation } from '../operations/status';

export const handler = lambdaHandler(statusOperation, createRateLimiter);
