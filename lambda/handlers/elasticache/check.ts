/** The check function of the ElastiCache stack: only the ElastiCache client is bundled. */
import { createRateLimiter } from '../../rate-limit/elasticache';
import { lambdaHandler } from '../../shared/api-handler';
import { checkOperation } from '../operations/check';

export const handler = lambdaHandler(checkOperation, createRateLimiter);
