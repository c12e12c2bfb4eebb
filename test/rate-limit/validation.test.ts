/**
 * Hostile input: ids that are not well-formed Unicode would collide once encoded to UTF-8 (every
 * lone surrogate becomes U+FFFD), so they are rejected with an error naming the field, on every
 * backend, before anything is stored.
 */
import { RateLimitInputError } from '../../lambda/rate-limit';
import { normalizeCreatorId, validateRequestId } from '../../lambda/rate-limit/core/validation';
import { ALL_BACKENDS, useTestServers, type BackendUnderTest } from '../support/backends';

const servers = useTestServers();

function inputError(run: () => unknown): RateLimitInputError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(RateLimitInputError);
    return error as RateLimitInputError;
  }
  throw new Error('expected a RateLimitInputError');
}

describe('normalizeCreatorId', () => {
  it.each(['x\ud800', 'x\udfff', '\udc00x', 'a\ude00\ud83d'])('rejects %j: not well-formed Unicode', (id) => {
    const error = inputError(() => normalizeCreatorId(id));
    expect(error.field).toBe('creatorId');
    expect(error.message).toMatch(/well-formed Unicode/);
  });

  it.each(['x\ufffd', 'emoji-\ud83d\ude00', 'créateur-東京'])('accepts %j: well-formed, each its own creator', (id) => {
    expect(normalizeCreatorId(id)).toBe(id);
  });
});

describe('validateRequestId', () => {
  it('rejects a request id with a lone surrogate, naming the field', () => {
    expect(inputError(() => validateRequestId('req-\ud800')).field).toBe('requestId');
  });
});

describe.each(ALL_BACKENDS)('ids that would collide on the %s backend', (backend: BackendUnderTest) => {
  it('lone surrogates are refused before anything is stored; "x\\ufffd" keeps its own keys', async () => {
    const limiter = servers.limiter(backend, { anomalyFactor: 0 });
    await expect(limiter.check('x\ud800', 'starter')).rejects.toMatchObject({ name: 'RateLimitInputError', field: 'creatorId' });
    await expect(limiter.check('x\udfff', 'starter')).rejects.toBeInstanceOf(RateLimitInputError);
    await expect(limiter.reset('x\udfff')).rejects.toBeInstanceOf(RateLimitInputError);
    await expect(limiter.check('x', 'starter', { requestId: 'r\udfff' })).rejects.toMatchObject({ field: 'requestId' });
    const replacement = await limiter.check('x\ufffd', 'starter');
    expect(replacement.remaining).toBe(replacement.limit - 1);
  });
});
