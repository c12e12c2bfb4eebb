/** The reset function of the Upstash stack: only the Upstash client is bundled. */
import { createRateLimiter } from '../../rate-limit/upstash';
import { lambdaHandler } from '../../shared/api-handler';
import { resetOperation } from '../operations/reset';

export const handler = lambdaHandler(resetOperation, createRateLimiter);
