/**
 * The http backend: the library's RateLimiter answered by the deployed HTTP API (SigV4-signed).
 * This directory is the only part of the library that may load AWS packages, and it loads them
 * only when a request is signed.
 */
export { createHttpRateLimiter, DEFAULT_HTTP_TIMEOUT_MS, type HttpRateLimiter, type HttpRateLimiterOptions } from './http-rate-limiter';
export { httpOptionsFromEnv } from './config';
export { parseApiUrl, regionFromApiUrl } from './api-url';
export type { AwsCredentials } from './sigv4';
