/**
 * A store that runs the scripts through any Redis transport (ioredis over TCP, or the Upstash REST
 * client). Everything backend-specific lives in the transport, the call layout in codec.ts.
 * No Node APIs: it runs in edge runtimes too. Scripts are called by their SHA-1, generated with
 * their text (scripts/index.ts), so nothing is hashed while a function initialises.
 */
import { TIER_LIMITS } from '../core/tiers';
import type { BackendName } from '../core/types';
import type {
  AdmissionOutcome,
  CheckRequest,
  OverrideWrite,
  PolicySpec,
  RateLimitStore,
  ReserveRequest,
  SettleOutcome,
  SettleRequest,
  StatusOutcome,
  StatusRequest,
  StoredOverride,
} from '../store/store';
import {
  decodeAdmission,
  decodeOverride,
  decodeRemoveOverride,
  decodeSettle,
  decodeStatus,
  encodeCheck,
  encodeGetOverride,
  encodeRemoveOverride,
  encodeReserve,
  encodeReset,
  encodeSetOverride,
  encodeSettle,
  encodeStatus,
  type EncodeContext,
  type ScriptCall,
} from './codec';
import { DEFAULT_KEY_PREFIX } from './keys';
import { SCRIPT_SHA1, SCRIPTS } from './scripts';

/** The few Redis operations a script store needs. */
export interface ScriptTransport {
  /** True when the transport may send one call twice (retries), so admissions must be idempotent. */
  readonly mayResend: boolean;
  evalsha(sha: string, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  eval(script: string, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  close(): Promise<void>;
}

/** The longest a record can be kept (a tier's retention is its longest window or lease): a reset retires records for this long. */
const MAX_RECORD_RETENTION_MS = Math.max(TIER_LIMITS.maxWindowSeconds, TIER_LIMITS.maxLeaseSeconds) * 1000;

export interface ScriptStoreOptions {
  readonly keyPrefix?: string;
  /** Replaces the server clock: for the differential tests only (see codec.ts). */
  readonly testClock?: () => number;
}

export class RedisScriptStore implements RateLimitStore {
  private readonly keyPrefix: string;
  private readonly testClock: (() => number) | undefined;

  constructor(
    readonly backend: BackendName,
    private readonly transport: ScriptTransport,
    options: ScriptStoreOptions = {},
  ) {
    this.keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    this.testClock = options.testClock;
  }

  get mayResend(): boolean {
    return this.transport.mayResend;
  }

  async check(request: CheckRequest): Promise<AdmissionOutcome> {
    return decodeAdmission(await this.run(encodeCheck(request, this.context())), request.policies.length);
  }

  async reserve(request: ReserveRequest): Promise<AdmissionOutcome> {
    return decodeAdmission(await this.run(encodeReserve(request, this.context())), request.policies.length);
  }

  async status(request: StatusRequest): Promise<StatusOutcome> {
    return decodeStatus(await this.run(encodeStatus(request, this.context())), request.policies.length);
  }

  async settle(request: SettleRequest): Promise<SettleOutcome> {
    return decodeSettle(await this.run(encodeSettle(request, this.context())), request.statusOf?.length ?? 0);
  }

  /**
   * Connects and loads the script every request path runs (the usage script), writing nothing: a
   * status read of the tier.
   */
  async warmUp(policies: readonly PolicySpec[]): Promise<void> {
    await this.status({ creatorId: 'warm-up', policies });
  }

  async reset(creatorId: string, requestPolicies: readonly string[]): Promise<void> {
    await this.run(encodeReset(creatorId, requestPolicies, MAX_RECORD_RETENTION_MS, this.context()));
  }

  async setOverride(creatorId: string, override: OverrideWrite): Promise<StoredOverride> {
    const stored = decodeOverride(await this.run(encodeSetOverride(creatorId, override, this.context())));
    if (!stored) throw new Error('rate-limit backend: the override script answered a set without the value written');
    return stored;
  }

  async getOverride(creatorId: string): Promise<StoredOverride | undefined> {
    return decodeOverride(await this.run(encodeGetOverride(creatorId, this.context())));
  }

  async removeOverride(creatorId: string): Promise<boolean> {
    return decodeRemoveOverride(await this.run(encodeRemoveOverride(creatorId, this.context())));
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  private context(): EncodeContext {
    return { keyPrefix: this.keyPrefix, clockMs: this.testClock?.() };
  }

  /** EVALSHA first (one round trip once the script is cached); EVAL only when the server says NOSCRIPT. */
  private async run({ script, keys, args }: ScriptCall): Promise<unknown> {
    return this.transport.evalsha(SCRIPT_SHA1[script], keys, args).catch((error: unknown) => {
      if (!isNoScript(error)) throw error;
      return this.transport.eval(SCRIPTS[script], keys, args);
    });
  }
}

export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.includes('NOSCRIPT');
}
