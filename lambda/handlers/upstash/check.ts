/** The check function of the Upstash stack: only the Upstash client is bundled. */
import { createRateLimiter } from '../../rate-limit/upstash';
import { lambdaHandler } from '../../shared/api-handler';
import { checkOperation } from '../operations/check';

export const handler = lambdaHandler(checkOperation, createRateLimiter);
