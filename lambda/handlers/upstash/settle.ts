/** The settle function of the Upstash stack: only the Upstash client is bundled. */
import { UPSTASH_LIBRARY } from './library';
import { lambdaHandler } from '../../shared/api-handler';
import { settleOperation } from '../operations/settle';

export const handler = lambdaHandler(settleOperation, UPSTASH_LIBRARY);
