/** The check function of the Upstash stack: only the Upstash client is bundled. */
import { UPSTASH_LIBRARY } from './library';
import { lambdaHandler } from '../../shared/api-handler';
import { checkOperation } from '../operations/check';

export const handler = lambdaHandler(checkOperation, UPSTASH_LIBRARY);
