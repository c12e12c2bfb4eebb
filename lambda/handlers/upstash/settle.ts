/** The settle function of the Upstash stack: only the Upstash client is bundled. */
import { createRateLimiter } from '../../rate-limit/upstash';
import { lambdaHandler } from '../../shared/api-handler';
import { settleOperation } from '../operations/settle';

export const handler = lambdaHandler(settleOperation, createRateLimiter);
