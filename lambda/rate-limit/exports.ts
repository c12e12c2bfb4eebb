/** The library's exports without the module-level functions (the Lambda handlers import this). */
export * from './public-api';
export { createRateLimiter, rateLimiterOptionsFromEnv, type HttpBackendOptions } from './all-backends';
