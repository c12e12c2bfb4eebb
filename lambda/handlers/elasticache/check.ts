/** The check function of the ElastiCache stack: only the ElastiCache client is bundled. */
import { ELASTICACHE_LIBRARY } from './library';
import { lambdaHandler } from '../../shared/api-handler';
import { checkOperation } from '../operations/check';

export const handler = lambdaHandler(checkOperation, ELASTICACHE_LIBRARY);
