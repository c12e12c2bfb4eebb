/**
 * The probe over the official @upstash/redis client, configured as the library configures it
 * (no auto-pipelining, no retries), so what works here works for the functions.
 */
import { Redis } from '@upstash/redis';

import { parseInfo, isRefusal, type BackendProbe, type ConnectionFacts } from './probe';
import type { UpstashTarget } from './target';

const REQUEST_TIMEOUT_MS = 5000;

export function createUpstashProbe(target: UpstashTarget): BackendProbe {
  const redis = new Redis({
    url: target.url,
    token: target.token,
    enableAutoPipelining: false,
    readYourWrites: false,
    enableTelemetry: false,
    // Replies as the server sent them: the doctor reads INFO text and script replies itself.
    automaticDeserialization: false,
    signal: () => AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    retry: { retries: 0 },
  });
  let loadedSha: string | undefined;

  const refusedAsUndefined = async <T>(command: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await command();
    } catch (error) {
      if (isRefusal(error)) return undefined;
      throw error;
    }
  };
  const info = async (section: string) => {
    const text = await refusedAsUndefined(() => redis.exec<string>(['INFO', section]));
    return text === undefined ? undefined : parseInfo(String(text));
  };

  return {
    async connect(): Promise<ConnectionFacts> {
      await redis.ping();
      return { tlsProtocol: new URL(target.url).protocol === 'https:' ? 'HTTPS' : undefined, scriptNodes: 1 };
    },
    info,
    async infoEverywhere(section) {
      const reply = await info(section);
      return reply ? [reply] : [];
    },
    async configGet(name) {
      const reply = await refusedAsUndefined(() => redis.exec<string[]>(['CONFIG', 'GET', name]));
      return Array.isArray(reply) ? reply[1] : undefined;
    },
    whoAmI: () => refusedAsUndefined(() => redis.exec<string>(['ACL', 'WHOAMI'])),
    async loadAndRunScript(script) {
      loadedSha = await redis.scriptLoad(script);
      return [await redis.evalsha(loadedSha, [], [])];
    },
    async runLoadedScript() {
      if (!loadedSha) throw new Error('no script loaded');
      return redis.evalsha(loadedSha, [], []);
    },
    async ping() {
      await redis.ping();
    },
    async close() {
      // Stateless HTTP: nothing to close.
    },
  };
}
