/** The setOverride function of the ElastiCache stack: only the ElastiCache client is bundled. */
import { createRateLimiter } from '../../rate-limit/elasticache';
import { lambdaHandler } from '../../shared/api-handler';
import { setOverrideOperation } from '../operations/overrides';

export const handler = lambdaHandler(setOverrideOperation, createRateLimiter);
