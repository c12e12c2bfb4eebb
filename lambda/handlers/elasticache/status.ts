/** The status function of the ElastiCache stack: only the ElastiCache client is bundled. */
import { createRateLimiter } from '../../rate-limit/elasticache';
import { lambdaHandler } from '../../shared/api-handler';
import { statusOperation } from '../operations/status';

export const handler = lambdaHandler(statusOperation, createRateLimiter);
