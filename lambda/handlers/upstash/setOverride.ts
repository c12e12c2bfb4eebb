/** The setOverride function of the Upstash stack: only the Upstash client is bundled. */
import { createRateLimiter } from '../../rate-limit/upstash';
import { lambdaHandler } from '../../shared/api-handler';
import { setOverrideOperation } from '../operations/overrides';

export const handler = lambdaHandler(setOverrideOperation, createRateLimiter);
