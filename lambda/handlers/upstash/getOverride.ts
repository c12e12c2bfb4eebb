/** The getOverride function of the Upstash stack: only the Upstash client is bundled. */
import { createRateLimiter } from '../../rate-limit/upstash';
import { lambdaHandler } from '../../shared/api-handler';
import { getOverrideOperation } from '../operations/overrides';

export const handler = lambdaHandler(getOverrideOperation, createRateLimiter);
