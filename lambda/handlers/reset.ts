/**
 * The reset function for any backend: RATE_LIMIT_BACKEND chooses it at run time, so every backend's
 * client is bundled. lambda/handlers/<backend>/reset.ts carries only the one a stack uses.
 */
import { EVERY_BACKEND } from '../shared/limiter';
import { lambdaHandler } from '../shared/api-handler';
import { resetOperation } from './operations/reset';

export const handler = lambdaHandler(resetOperation, EVERY_BACKEND);
