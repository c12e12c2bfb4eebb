/**
 * The setOverride function for any backend: RATE_LIMIT_BACKEND chooses it at run time, so every
 * backend's client is bundled. lambda/handlers/<backend>/setOverride.ts carries only the one a stack uses.
 */
import { EVERY_BACKEND } from '../shared/limiter';
import { lambdaHandler } from '../shared/api-handler';
import { setOverrideOperation } from './operations/overrides';

export const handler = lambdaHandler(setOverrideOperation, EVERY_BACKEND);
