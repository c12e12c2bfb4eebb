/**
 * The settle function for any backend: RATE_LIMIT_BACKEND chooses it at run time, so every backend's
 * client is bundled. lambda/handlers/<backend>/settle.ts carries only the one a stack uses.
 */
import { EVERY_BACKEND } from '../shared/limiter';
import { lambdaHandler } from '../shared/api-handler';
import { settleOperation } from './operations/settle';

export const handler = lambdaHandler(settleOperation, EVERY_BACKEND);
