/**
 * The status function for any backend: RATE_LIMIT_BACKEND chooses it at run time, so every backend's
 * client is bundled. lambda/handlers/<backend>/status.ts carries only the one a stack uses.
 */
import { EVERY_BACKEND } from '../shared/limiter';
import { lambdaHandler } from '../shared/api-handler';
import { statusOperation } from './operations/status';

export const handler = lambdaHandler(statusOperation, EVERY_BACKEND);
