/**
 * One conformance suite, three backends: the same scenarios must produce the same decisions on the
 * in-memory store, on Redis through ioredis (ElastiCache) and on Redis through the official Upstash
 * REST client and an Upstash-compatible server.
 */
import { ALL_BACKENDS, useTestServers } from '../support/backends';
import { conformanceScenarios, reservationConformanceScenarios } from '../support/conformance-scenarios';

const servers = useTestServers();

describe.each(ALL_BACKENDS)('%s backend', (backend) => {
  conformanceScenarios((options) => servers.limiter(backend, options));
  reservationConformanceScenarios((options) => servers.limiter(backend, options));
});
