/** The status function of the ElastiCache stack: only the ElastiCache client is bundled. */
import { ELASTICACHE_LIBRARY } from './library';
import { lambdaHandler } from '../../shared/api-handler';
import { statusOperation } from '../operations/status';

export const handler = lambdaHandler(statusOperation, ELASTICACHE_LIBRARY);
