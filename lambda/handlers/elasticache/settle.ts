/** The settle function of the ElastiCache stack: only the ElastiCache client is bundled. */
import { createRateLimiter } from '../../rate-limit/elasticache';
import { lambdaHandler } from '../../shared/api-handler';
import { settleOperation } from '../operations/settle';

export const handler = lambdaHandler(settleOperation, createRateLimiter);
