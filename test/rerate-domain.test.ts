import { describe, expect, it } from 'vitest';
import { eventsFrom, RerateOptions, rerateMember, rerateStream, seedStates, type StoredRow } from '../domain/rerate';
import type { HistoryRow } from '../domain/rating/replay';
import type { RatedEvent } from '../domain/rating/replay';

const day = (d: number) => Date.UTC(2024, 0, d);
/** n rated rows for a member, one a day from day 1, the last with the given rating and volatility */
function ratedRows(userId: string, n: number, last: { rating: number; volatility: number | null }): StoredRow[] {
  return Array.from({ length: n }, (_, i) => ({
    userId,
    challengeId: `old-${userId}-${i}`,
    eventAt: day(1 + i),
    newRating: i === n - 1 ? last.rating : 1000 + i,
    newVolatility: i === n - 1 ? last.volatility : 300,
  }));
}
const event = (challengeId: string, d: number, scores: Record<string, number>): RatedEvent => ({
  challengeId,
  endDate: new Date(day(d)),
  participants: Object.entries(scores).map(([userId, score]) => ({ userId, score })),
});

describe('rerate (pure)', () => {
  it('seeds each member from their last rated row before the challenge: its rating, its volatility or 515, and the rated rows counted', () => {
    const rows: StoredRow[] = [
      ...ratedRows('a', 3, { rating: 1500, volatility: 420 }),
      { userId: 'a', challengeId: 'unrated', eventAt: day(4), newRating: null, newVolatility: null }, // not a rating
      { userId: 'a', challengeId: 'later', eventAt: day(30), newRating: 2000, newVolatility: 200 }, // after the cutoff
      ...ratedRows('b', 2, { rating: 1300, volatility: null }),
      { userId: 'c', challengeId: 'x-same-day-after', eventAt: day(20), newRating: 999, newVolatility: 100 }, // same day, id after X
      { userId: 'c', challengeId: 'a-same-day-before', eventAt: day(20), newRating: 1111, newVolatility: 111 },
    ];
    const s = seedStates(rows, { at: day(20), challengeId: 'm-challenge' });
    expect(s.get('a')).toEqual({ rating: 1500, volatility: 420, timesRated: 3 });
    expect(s.get('b')).toEqual({ rating: 1300, volatility: 515, timesRated: 2 });
    expect(s.get('c')).toEqual({ rating: 1111, volatility: 111, timesRated: 1 });
    expect(s.has('d')).toBe(false);
  });

  it('rerateMember: the public vector {2500/250/10/0, 2400/250/10/100} → 2461/240/11 for the member, opponents from their stored rows', () => {
    const stored = [...ratedRows('a', 10, { rating: 2500, volatility: 250 }), ...ratedRows('b', 10, { rating: 2400, volatility: 250 })];
    const r = rerateMember('a', [event('X', 20, { a: 0, b: 100 })], stored);
    expect(r.rows).toHaveLength(1);
    expect(r.rows[0]).toMatchObject({
      challengeId: 'X',
      userId: 'a',
      oldRating: 2500,
      newRating: 2461,
      oldVolatility: 250,
      newVolatility: 240,
    });
    expect(r.state).toEqual({ rating: 2461, volatility: 240, timesRated: 11 });
    expect(r.challengesRerated).toBe(0); // max(processed − 1, 0)
    // and from the opponent's side: the vector's other half
    expect(rerateMember('b', [event('X', 20, { a: 0, b: 100 })], stored).rows[0]).toMatchObject({ newRating: 2442, newVolatility: 239 });
  });

  it('rerateMember carries the member in memory from event to event and skips events without them', () => {
    const stored = [...ratedRows('a', 10, { rating: 2500, volatility: 250 }), ...ratedRows('b', 10, { rating: 2400, volatility: 250 })];
    const events = [event('X', 20, { a: 0, b: 100 }), event('Y', 21, { b: 5, c: 1 }), event('Z', 22, { a: 10, b: 1 })];
    const r = rerateMember('a', events, stored);
    expect(r.rows.map((x) => x.challengeId)).toEqual(['X', 'Z']);
    expect(r.rows[1]!.oldRating).toBe(r.rows[0]!.newRating);
    expect(r.rows[1]!.oldVolatility).toBe(r.rows[0]!.newVolatility);
    expect(r.challengesRerated).toBe(1);
    expect(rerateMember('nobody', events, stored)).toEqual({ rows: [], state: undefined, challengesRerated: 0 });
  });

  it('eventsFrom: the tail from a challenge in replay order; undefined for a challenge not in the stream', () => {
    const events = [event('Z', 22, { a: 1 }), event('X', 20, { a: 1 }), event('Y', 20, { a: 1 })];
    expect(eventsFrom(events, 'Y')!.map((e) => e.challengeId)).toEqual(['Y', 'Z']);
    expect(eventsFrom(events, undefined)!.map((e) => e.challengeId)).toEqual(['X', 'Y', 'Z']);
    expect(eventsFrom(events, 'nope')).toBeUndefined();
  });

  it('options: a stream is required and named; defaults', () => {
    expect(RerateOptions.safeParse({ stream: 'design' }).error?.issues[0]?.message).toBe('--stream must be develop or marathon');
    expect(RerateOptions.parse({ stream: 'marathon' })).toMatchObject({ preview: false, chunkEvents: 250, throttle: { enabled: true } });
  });

  it('rerateStream: every participant from their stored state; the public vector for both members', () => {
    const stored = [...ratedRows('a', 10, { rating: 2500, volatility: 250 }), ...ratedRows('b', 10, { rating: 2400, volatility: 250 })];
    const r = rerateStream([event('X', 20, { a: 0, b: 100 })], stored);
    const by = new Map(r.rows.map((x) => [x.userId, x]));
    expect(by.get('a')).toMatchObject({ oldRating: 2500, newRating: 2461, newVolatility: 240 });
    expect(by.get('b')).toMatchObject({ oldRating: 2400, newRating: 2442, newVolatility: 239 });
    expect(r.states.get('a')).toEqual({ rating: 2461, volatility: 240, timesRated: 11 });
  });

  it('rerateStream: a stored row it does not rewrite (a legacy-only round, a member no longer a participant) stands where it is', () => {
    const stored: StoredRow[] = [
      ...ratedRows('a', 3, { rating: 1500, volatility: 300 }),
      ...ratedRows('b', 3, { rating: 1400, volatility: 300 }),
      // a legacy-only round between X and Z: a's state becomes this row's
      { userId: 'a', challengeId: '12345', eventAt: day(21), newRating: 1777, newVolatility: null },
      // c has a stored row on Y but is not a participant of Y any more
      { userId: 'c', challengeId: 'Y', eventAt: day(22), newRating: 1234, newVolatility: 222 },
    ];
    const events = [event('X', 20, { a: 5, b: 1 }), event('Y', 22, { b: 3, d: 1 }), event('Z', 23, { a: 1, c: 2 })];
    const r = rerateStream(events, stored);
    const row = (u: string, c: string) => r.rows.find((x) => x.userId === u && x.challengeId === c);
    expect(row('a', 'Z')).toMatchObject({ oldRating: 1777, oldVolatility: 515 });
    expect(row('c', 'Z')).toMatchObject({ oldRating: 1234, oldVolatility: 222 });
    expect(row('c', 'Y')).toBeUndefined();
    expect(r.rows.map((x) => x.challengeId).every((c) => ['X', 'Y', 'Z'].includes(c))).toBe(true);
  });

  it('rerateStream: after a full rerate, a rerate from any later challenge computes the same rows', () => {
    const stored: StoredRow[] = [
      ...ratedRows('a', 4, { rating: 1650, volatility: 310 }),
      ...ratedRows('b', 2, { rating: 1420, volatility: null }),
      { userId: 'a', challengeId: '777', eventAt: day(24), newRating: 1700, newVolatility: 280 },
      { userId: 'e', challengeId: 'W', eventAt: day(25), newRating: 1111, newVolatility: 301 },
    ];
    const events = [
      event('V', 20, { a: 10, b: 20, c: 5 }),
      event('W', 25, { a: 3, c: 9, d: 1 }),
      event('X', 27, { b: 2, d: 8, a: 4 }),
      event('Y', 29, { c: 1, e: 2 }),
      event('Z', 30, { a: 7, b: 7, c: 6, d: 5, e: 4 }),
    ];
    const full = rerateStream(events, stored);
    // what the full rerate writes: its rows replace the stored ones of the same member and event
    const key = (x: { userId: string; challengeId: string }) => `${x.userId} ${x.challengeId}`;
    const written = new Set(full.rows.map(key));
    const after: StoredRow[] = [
      ...stored.filter((x) => !written.has(key(x))),
      ...full.rows.map((h: HistoryRow) => ({
        userId: h.userId,
        challengeId: h.challengeId,
        eventAt: h.eventDate.getTime(),
        newRating: h.newRating,
        newVolatility: h.newVolatility,
      })),
    ];
    for (const from of ['W', 'X', 'Y', 'Z']) {
      const tail = eventsFrom(events, from)!;
      const again = rerateStream(tail, after);
      const names = new Set(tail.map((e) => e.challengeId));
      expect(again.rows, `from ${from}`).toEqual(full.rows.filter((x) => names.has(x.challengeId)));
    }
  });

  it('a participant missing from member (never given a row) enters every event as new, so rerating any tail of a full rerate changes nothing', () => {
    const stored: StoredRow[] = [
      ...ratedRows('a', 3, { rating: 1600, volatility: 300 }),
      ...ratedRows('b', 2, { rating: 1400, volatility: 350 }),
    ];
    const events = [
      event('V', 20, { a: 10, b: 20, ghost: 5 }),
      event('W', 25, { a: 3, ghost: 9, b: 1 }),
      event('X', 27, { b: 2, ghost: 8, a: 4 }),
      event('Y', 29, { a: 1, b: 2, ghost: 3 }),
    ];
    const rowless = new Set(['ghost']);
    const full = rerateStream(events, stored, rowless);
    expect(full.states.has('ghost')).toBe(false);
    // ghost is rated as new at every event (its old rating is always null)
    expect(full.rows.filter((h) => h.userId === 'ghost').map((h) => h.oldRating)).toEqual([null, null, null, null]);
    const key = (x: { userId: string; challengeId: string }) => `${x.userId} ${x.challengeId}`;
    const written = new Set(full.rows.filter((h) => !rowless.has(h.userId)).map(key));
    const after: StoredRow[] = [
      ...stored.filter((x) => !written.has(key(x))),
      ...full.rows
        .filter((h) => !rowless.has(h.userId))
        .map((h) => ({
          userId: h.userId,
          challengeId: h.challengeId,
          eventAt: h.eventDate.getTime(),
          newRating: h.newRating,
          newVolatility: h.newVolatility,
        })),
    ];
    for (const from of ['W', 'X', 'Y']) {
      const tail = eventsFrom(events, from)!;
      const names = new Set(tail.map((e) => e.challengeId));
      expect(rerateStream(tail, after, rowless).rows, `from ${from}`).toEqual(full.rows.filter((x) => names.has(x.challengeId)));
    }
  });
});
