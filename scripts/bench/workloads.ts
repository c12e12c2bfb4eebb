/**
 * Creator ids of the two workloads. The same ids are used over TCP and through the Upstash-compatible
 * server, so the mostly-denied creators filled once serve both.
 */
import type { BenchOptions } from './options';

type Counts = Pick<BenchOptions, 'creators' | 'checksPerCreator'>;

/**
 * Mostly allowed: check i goes to creator i mod N of generation i div (N x checksPerCreator), in the
 * phase's own namespace, so no creator gets more than checksPerCreator checks.
 */
export function allowedCreator(namespace: string, index: number, counts: Counts): string {
  const generation = Math.floor(index / (counts.creators * counts.checksPerCreator));
  return `a-${namespace}-g${generation}-c${index % counts.creators}`;
}

/** Mostly denied: N creators per state family, brought to their limit before measuring. */
export function deniedCreator(family: string, index: number, counts: Counts): string {
  return `d-${family}-c${index % counts.creators}`;
}
