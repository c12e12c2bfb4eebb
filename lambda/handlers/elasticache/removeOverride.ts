/** The removeOverride function of the ElastiCache stack: only the ElastiCache client is bundled. */
import { ELASTICACHE_LIBRARY } from './library';
import { lambdaHandler } from '../../shared/api-handler';
import { removeOverrideOperation } from '../operations/overrides';

export const handler = lambdaHandler(removeOverrideOperation, ELASTICACHE_LIBRARY);
