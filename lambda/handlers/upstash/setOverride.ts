/** The setOverride function of the Upstash stack: only the Upstash client is bundled. */
import { UPSTASH_LIBRARY } from './library';
import { lambdaHandler } from '../../shared/api-handler';
import { setOverrideOperation } from '../operations/overrides';

export const handler = lambdaHandler(setOverrideOperation, UPSTASH_LIBRARY);
