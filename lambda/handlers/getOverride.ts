/**
 * The getOverride function for any backend: RATE_LIMIT_BACKEND chooses it at run time, so every
 * backend's client is bundled. lambda/handlers/<backend>/getOverride.ts carries only the one a stack uses.
 */
import { EVERY_BACKEND } from '../shared/limiter';
import { lambdaHandler } from '../shared/api-handler';
import { getOverrideOperation } from './operations/overrides';

export const handler = lambdaHandler(getOverrideOperation, EVERY_BACKEND);
