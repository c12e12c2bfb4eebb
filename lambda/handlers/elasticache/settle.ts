/** The settle function of the ElastiCache stack: only the ElastiCache client is bundled. */
import { ELASTICACHE_LIBRARY } from './library';
import { lambdaHandler } from '../../shared/api-handler';
import { settleOperation } from '../operations/settle';

export const handler = lambdaHandler(settleOperation, ELASTICACHE_LIBRARY);
