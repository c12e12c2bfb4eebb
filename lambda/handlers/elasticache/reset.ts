/** The reset function of the ElastiCache stack: only the ElastiCache client is bundled. */
import { createRateLimiter } from '../../rate-limit/elasticache';
import { lambdaHandler } from '../../shared/api-handler';
import { resetOperation } from '../operations/reset';

export const handler = lambdaHandler(resetOperation, createRateLimiter);
