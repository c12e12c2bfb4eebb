/**
 * Reset: forgets a creator's usage in one atomic step. The state, the token ledger and the request
 * logs are deleted; records (one key per requestId, which cannot be listed cheaply) are retired by
 * bumping the creator's generation, which every record carries: one written before the reset reads
 * as unknown from then on. The generation lives at least as long as any record written before it
 * can (the longest retention a tier may have); admissions after the reset extend it as needed.
 *
 * KEYS: 1 state, 2 token ledger, 3 generation, then the request logs to delete.
 * ARGV: 1 how long records written before now may live (ms).
 * Reply: the new generation.
 */

export const RESET_LUA = String.raw`
redis.call('DEL', KEYS[1], KEYS[2], unpack(KEYS, 4))
local generation = redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[1]) + TTL_MARGIN_MS)
return generation
`;
