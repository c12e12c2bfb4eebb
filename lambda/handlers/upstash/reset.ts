/** The reset function of the Upstash stack: only the Upstash client is bundled. */
import { UPSTASH_LIBRARY } from './library';
import { lambdaHandler } from '../../shared/api-handler';
import { resetOperation } from '../operations/reset';

export const handler = lambdaHandler(resetOperation, UPSTASH_LIBRARY);
