import { describe, expect, it } from 'vitest';
import { quantile, summarize } from '../domain/latency';
import { ThrottleSettings, throttleStep, type DbHealth } from '../domain/throttle';

const settings = ThrottleSettings.parse({});
const healthy: DbHealth = { readP99Ms: 20, readSamples: 100, activeQueries: 3, lockWaits: 0 };

describe('throttleStep (pure)', () => {
  it('defaults: a 200 ms read budget, on', () => {
    expect(settings).toMatchObject({ enabled: true, readBudgetMs: 200, probeSeconds: 2 });
  });

  it('halves what it allows while a limit is exceeded, down to none, naming each breach', () => {
    const slow = { ...healthy, readP99Ms: 450 };
    expect(throttleStep(8, 8, slow, settings)).toEqual({ allowed: 4, reasons: ['read p99 450 ms > 200 ms'] });
    expect(throttleStep(4, 8, slow, settings).allowed).toBe(2);
    expect(throttleStep(1, 8, slow, settings).allowed).toBe(0);
    expect(throttleStep(0, 8, slow, settings).allowed).toBe(0);
    const everything = { readP99Ms: 201, readSamples: 9, activeQueries: 65, lockWaits: 5 };
    expect(throttleStep(8, 8, everything, settings).reasons).toEqual([
      'read p99 201 ms > 200 ms',
      '65 active queries > 64',
      '5 lock waits > 4',
    ]);
  });

  it('allows one more per comfortable reading (p99 ≤ 140 ms here), never beyond the operator’s concurrency', () => {
    expect(throttleStep(0, 4, healthy, settings)).toMatchObject({ allowed: 1 });
    expect(throttleStep(3, 4, healthy, settings)).toEqual({ allowed: 4, reasons: [] });
    expect(throttleStep(4, 4, healthy, settings)).toEqual({ allowed: 4, reasons: [] });
    // retuned down while throttled: the new, lower ceiling holds at once
    expect(throttleStep(6, 2, healthy, settings)).toEqual({ allowed: 2, reasons: [] });
  });

  it('holds between comfortable and the limit (no see-saw at the budget)', () => {
    const near = { ...healthy, readP99Ms: 180 };
    expect(throttleStep(2, 4, near, settings)).toMatchObject({ allowed: 2 });
    expect(throttleStep(2, 4, near, settings).reasons[0]).toMatch(/holding at 2 of 4 batches .*read p99 ≤ 140 ms/);
  });

  it('no reads served lately is no reason to hold back; disabled never holds back', () => {
    expect(throttleStep(1, 4, { ...healthy, readP99Ms: null, readSamples: 0 }, settings).allowed).toBe(2);
    expect(throttleStep(1, 4, { ...healthy, readP99Ms: 5000 }, { ...settings, enabled: false })).toEqual({ allowed: 4, reasons: [] });
  });
});

describe('latency summaries', () => {
  it('nearest-rank quantiles', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
    expect(quantile(hundred, 0.99)).toBe(99);
    expect(quantile(hundred, 0.5)).toBe(50);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([], 0.99)).toBe(0);
    expect(summarize([30, 10, 20])).toEqual({ p50Ms: 20, p99Ms: 30, samples: 3 });
  });
});
