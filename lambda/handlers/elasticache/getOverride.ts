/** The getOverride function of the ElastiCache stack: only the ElastiCache client is bundled. */
import { createRateLimiter } from '../../rate-limit/elasticache';
import { lambdaHandler } from '../../shared/api-handler';
import { getOverrideOperation } from '../operations/overrides';

export const handler = lambdaHandler(getOverrideOperation, createRateLimiter);
