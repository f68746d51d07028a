import { describe, expect, it } from 'vitest';
import { progressLine, recentRate, type ProgressSample } from '../domain/backfill';

/** The recent rate and the progress line, against figures worked out by hand. */
describe('recent rate', () => {
  it('is the rate over the window, not the average since the start', () => {
    // 100 members in the first 100 s, then 600 in the last 20 s: the average says 5.8/s, the last 30 s say 30/s
    const samples: ProgressSample[] = [
      [0, 0],
      [50_000, 50],
      [100_000, 100],
      [110_000, 400],
      [120_000, 700],
    ];
    expect(recentRate(samples, 120_000, 30_000)).toBe(30);
    // the window starts at the oldest sample inside it (100 s): (700-100) over 20 s
    expect(recentRate(samples, 125_000, 30_000)).toBe(30);
  });
  it('says nothing with fewer than two samples in the window (the caller falls back to the average)', () => {
    expect(recentRate([[0, 0]], 10_000)).toBeUndefined();
    expect(
      recentRate(
        [
          [0, 0],
          [1_000, 10],
        ],
        100_000,
        30_000,
      ),
    ).toBeUndefined();
    expect(
      recentRate(
        [
          [5_000, 3],
          [5_000, 9],
        ],
        6_000,
      ),
    ).toBeUndefined();
  });
});

describe('progress line', () => {
  it('shows percent, state, counts, rate and ETA; a dash when there is none', () => {
    expect(progressLine('backfill', { state: 'running', done: 4200, total: 10_000, perSec: 1234.4, etaSeconds: 4.7 }, 'members')).toBe(
      'backfill 42% · running · 4,200/10,000 members · 1,234/s · ETA 5 s',
    );
    expect(progressLine('backfill', { state: 'paused', done: 1, total: 3, perSec: 0, etaSeconds: null }, 'members')).toBe(
      'backfill 33% · paused · 1/3 members · 0/s · ETA –',
    );
    expect(progressLine('rerate', { state: 'running', done: 10, total: 10, perSec: 2, etaSeconds: 600 }, 'events')).toBe(
      'rerate 100% · running · 10/10 events · 2/s · ETA 10 min',
    );
  });
});
