/** The reset function of the ElastiCache stack: only the ElastiCache client is bundled. */
import { ELASTICACHE_LIBRARY } from './library';
import { lambdaHandler } from '../../shared/api-handler';
import { resetOperation } from '../operations/reset';

export const handler = lambdaHandler(resetOperation, ELASTICACHE_LIBRARY);
