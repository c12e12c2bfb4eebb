/**
 * The check function for any backend: RATE_LIMIT_BACKEND chooses it at run time, so every backend's
 * client is bundled. lambda/handlers/<backend>/check.ts carries only the one a stack uses.
 */
import { EVERY_BACKEND } from '../shared/limiter';
import { lambdaHandler } from '../shared/api-handler';
import { checkOperation } from './operations/check';

export const handler = lambdaHandler(checkOperation, EVERY_BACKEND);
