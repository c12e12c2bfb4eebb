/** The getOverride function of the Upstash stack: only the Upstash client is bundled. */
import { UPSTASH_LIBRARY } from './library';
import { lambdaHandler } from '../../shared/api-handler';
import { getOverrideOperation } from '../operations/overrides';

export const handler = lambdaHandler(getOverrideOperation, UPSTASH_LIBRARY);
