/** The status function of the Upstash stack: only the Upstash client is bundled. */
import { UPSTASH_LIBRARY } from './library';
import { lambdaHandler } from '../../shared/api-handler';
import { statusOperation } from '../operations/status';

export const handler = lambdaHandler(statusOperation, UPSTASH_LIBRARY);
