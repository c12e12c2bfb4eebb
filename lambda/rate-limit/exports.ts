/** The library's exports without the module-level functions (the Lambda handlers import this). */
export * from './public-api';
export { createRateLimiter, rateLimiterFromEnv, type HttpBackendOptions } from './all-backends';
export { createHttpRateLimiter, httpOptionsFromEnv, type HttpRateLimiterOptions } from './http';
