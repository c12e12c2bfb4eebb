import { DEFAULT_TIERS, parseTierTable, parseTierTableJson, RateLimitConfigError } from '../../lambda/rate-limit';
import { headlinePolicyIndex } from '../../lambda/rate-limit/core/tiers';

const valid = {
  starter: {
    policies: [
      { name: 'requests-per-hour', unit: 'requests', limit: 50, windowSeconds: 3600 },
      { name: 'tokens-per-day', unit: 'tokens', limit: 200000, windowSeconds: 86400, note: 'extra fields are fine' },
      { name: 'in-flight', unit: 'concurrent', limit: 2, leaseSeconds: 60 },
    ],
  },
};

describe('tier tables', () => {
  it('ships the old request limits with a daily token budget and an in-flight cap per tier', () => {
    expect(Object.keys(DEFAULT_TIERS)).toEqual(['starter', 'pro', 'business']);
    const requestLimits = Object.values(DEFAULT_TIERS).map((tier) => tier.policies.find((p) => p.unit === 'requests'));
    expect(requestLimits.map((p) => [p!.limit, p!.unit === 'requests' && p!.windowSeconds])).toEqual([
      [50, 3600],
      [100, 3600],
      [500, 3600],
    ]);
    for (const tier of Object.values(DEFAULT_TIERS)) {
      expect(tier.policies.map((p) => p.unit)).toEqual(['requests', 'tokens', 'concurrent']);
    }
  });

  it('accepts the documented format and keeps only known fields', () => {
    const table = parseTierTableJson(JSON.stringify(valid));
    expect(table.starter.policies[1]).toEqual({ name: 'tokens-per-day', unit: 'tokens', limit: 200000, windowSeconds: 86400 });
  });

  it('defaults the lease of a concurrent policy', () => {
    const table = parseTierTable({ t: { policies: [{ name: 'c', unit: 'concurrent', limit: 3 }] } });
    expect(table.t.policies[0]).toEqual({ name: 'c', unit: 'concurrent', limit: 3, leaseSeconds: 90 });
  });

  it.each([
    ['not JSON', '{', /RATE_LIMIT_TIERS: not valid JSON/],
    ['an array', '[]', /must be a JSON object/],
    ['no tiers', '{}', /at least one tier/],
    ['a bad tier name', '{"a b":{"policies":[]}}', /tier name "a b"/],
    ['no policies array', '{"pro":{}}', /tier "pro": must be an object with a "policies" array/],
    ['an empty policy list', '{"pro":{"policies":[]}}', /tier "pro": "policies" must hold 1 to 8/],
    [
      'an unknown unit',
      '{"pro":{"policies":[{"name":"x","unit":"dollars","limit":1,"windowSeconds":1}]}}',
      /tier "pro", policy "x", field "unit": must be one of requests, tokens, concurrent, got "dollars"/,
    ],
    [
      'a negative limit',
      '{"pro":{"policies":[{"name":"x","unit":"requests","limit":-5,"windowSeconds":1}]}}',
      /tier "pro", policy "x", field "limit": must be an integer from 1 to 10000, got -5/,
    ],
    [
      'a fractional window',
      '{"pro":{"policies":[{"name":"x","unit":"tokens","limit":5,"windowSeconds":1.5}]}}',
      /policy "x", field "windowSeconds"/,
    ],
    ['a missing window', '{"pro":{"policies":[{"name":"x","unit":"tokens","limit":5}]}}', /field "windowSeconds": .* got nothing/],
    ['a string limit', '{"pro":{"policies":[{"name":"x","unit":"requests","limit":"5","windowSeconds":5}]}}', /field "limit".*got "5"/],
    ['a nameless policy', '{"pro":{"policies":[{"unit":"requests","limit":5,"windowSeconds":5}]}}', /tier "pro", policy #1, field "name"/],
    [
      'duplicate names',
      '{"pro":{"policies":[{"name":"x","unit":"requests","limit":5,"windowSeconds":5},{"name":"x","unit":"tokens","limit":5,"windowSeconds":5}]}}',
      /policy name "x" is used twice/,
    ],
    [
      'two concurrent policies',
      '{"pro":{"policies":[{"name":"a","unit":"concurrent","limit":5},{"name":"b","unit":"concurrent","limit":5}]}}',
      /at most one "concurrent" policy/,
    ],
  ])('rejects %s with a message naming what is wrong', (_label, json, message) => {
    expect(() => parseTierTableJson(json)).toThrow(RateLimitConfigError);
    expect(() => parseTierTableJson(json)).toThrow(message);
  });

  it('parses "mode": "shadow", rejects other modes naming the field, and needs one enforcing policy', () => {
    const hourly = { name: 'per-hour', unit: 'requests', limit: 10, windowSeconds: 3600 };
    const next = { name: 'per-hour-next', unit: 'requests', limit: 5, windowSeconds: 3600, mode: 'shadow' };
    const table = parseTierTable({ dark: { policies: [next, { ...hourly, mode: 'enforce' }] } });
    expect(table.dark.policies[0]).toMatchObject({ name: 'per-hour-next', mode: 'shadow' });
    expect(table.dark.policies[1]).not.toHaveProperty('mode'); // enforcing policies read as before
    // The headline is the first enforcing request policy, never a shadow one.
    expect(headlinePolicyIndex(table.dark)).toBe(1);
    expect(() => parseTierTable({ dark: { policies: [{ ...hourly, mode: 'dry-run' }] } })).toThrow(
      /tier "dark", policy "per-hour", field "mode": must be one of enforce, shadow, got "dry-run"/,
    );
    expect(() => parseTierTable({ dark: { policies: [next] } })).toThrow(/at least one policy that is not "mode": "shadow"/);
  });

  it('uses the first request window as the headline policy', () => {
    expect(
      headlinePolicyIndex(
        parseTierTable({
          t: {
            policies: [
              { name: 'tok', unit: 'tokens', limit: 5, windowSeconds: 5 },
              { name: 'req', unit: 'requests', limit: 5, windowSeconds: 5 },
            ],
          },
        }).t,
      ),
    ).toBe(1);
    expect(headlinePolicyIndex(parseTierTable({ t: { policies: [{ name: 'tok', unit: 'tokens', limit: 5, windowSeconds: 5 }] } }).t)).toBe(
      0,
    );
  });
});
