import { describe, expect, it } from 'vitest';
import { continueFromLegacy, type LegacyStreamState } from '../domain/rating/continue';
import type { RatedEvent } from '../domain/rating/replay';

/**
 * Preserved versus computed, on the public vectors of RATINGS.md: the engine's arithmetic is pinned by those
 * numbers (not by calling the engine here), so what these tests check is the hand-over — recorded outcomes kept,
 * the engine starting exactly from each member's legacy state.
 */

const day = (d: number) => new Date(Date.UTC(2024, 0, d));
const ev = (challengeId: string, d: number, scores: Record<string, number>): RatedEvent => ({
  challengeId,
  endDate: day(d),
  participants: Object.entries(scores).map(([userId, score]) => ({ userId, score })),
});
const legacy = (rating: number | null, volatility: number | null, ratings: number, lastDay: number | null): LegacyStreamState => ({
  rating,
  volatility,
  ratings,
  lastEventAt: lastDay === null ? null : day(lastDay).getTime(),
});
const rec = (entries: Record<string, Record<string, number>>) =>
  new Map(Object.entries(entries).map(([c, m]) => [c, new Map(Object.entries(m))]));

// vector 1: {1800/300/5/90, 2200/250/8/80, new/score 100, 1500/400/3/70} → 1927/341/6, 2130/261/9, 1821/385/1, 1447/348/4
const VECTOR_EVENT = ev('new-1', 20, { a: 90, b: 80, c: 100, d: 70 });
const VECTOR_OUT = { a: [1927, 341, 6], b: [2130, 261, 9], c: [1821, 385, 1], d: [1447, 348, 4] };

describe('continueFromLegacy (preserved versus computed)', () => {
  it('keeps every recorded outcome: a fully legacy-backed stream produces no rows', () => {
    const events = [ev('old-1', 1, { a: 10, b: 5 }), ev('old-2', 2, { a: 1, b: 9 })];
    const r = continueFromLegacy(events, rec({ 'old-1': { a: 1300, b: 1100 }, 'old-2': { a: 1250, b: 1190 } }), new Map());
    expect(r.history).toEqual([]);
    expect(r.states.size).toBe(0);
  });

  it('rates an event after the legacy data from each member’s legacy state (public vector 1)', () => {
    const r = continueFromLegacy(
      [VECTOR_EVENT],
      new Map(),
      new Map([
        ['a', legacy(1800, 300, 5, 10)],
        ['b', legacy(2200, 250, 8, 10)],
        ['d', legacy(1500, 400, 3, 10)],
      ]),
    );
    for (const [id, [rating, volatility, n]] of Object.entries(VECTOR_OUT)) {
      expect(r.states.get(id), id).toEqual({ rating, volatility, timesRated: n });
    }
    const a = r.history.find((h) => h.userId === 'a')!;
    expect(a).toMatchObject({ oldRating: 1800, newRating: 1927, oldVolatility: 300, newVolatility: 341, placement: 2 });
    expect(r.history.find((h) => h.userId === 'c')).toMatchObject({ oldRating: null, newRating: 1821, oldVolatility: null });
  });

  it('walks recorded events to the legacy rating and count, then continues (vector 1 again)', () => {
    // a's and b's recorded history ends at their legacy ratings; the count of ratings comes from the walk
    const events = [ev('old-1', 1, { a: 5, b: 9, x: 1 }), ev('old-2', 3, { a: 9, b: 2 }), VECTOR_EVENT];
    const recorded = rec({ 'old-1': { a: 1700, b: 2250, x: 1100 }, 'old-2': { a: 1800, b: 2200 } });
    const r = continueFromLegacy(
      events,
      recorded,
      new Map([
        ['a', legacy(1800, 300, 5, 3)], // 5 legacy ratings, 2 of them recorded in challengeResult
        ['b', legacy(2200, 250, 8, 3)],
        ['d', legacy(1500, 400, 3, 2)],
      ]),
    );
    expect(r.history.map((h) => h.challengeId)).toEqual(['new-1', 'new-1', 'new-1', 'new-1']);
    for (const [id, [rating, volatility, n]] of Object.entries(VECTOR_OUT)) {
      expect(r.states.get(id), id).toEqual({ rating, volatility, timesRated: n });
    }
    expect(r.states.has('x')).toBe(false); // only recorded, never rated by the engine
  });

  it('never re-rates a member’s event before their legacy end, even when the event has no recorded outcome', () => {
    // vector 2: {2500/250/10/0, 2400/250/10/100} → 2461/240/11, 2442/239/11
    const events = [ev('gap', 5, { p: 0, q: 100, late: 50 })];
    const r = continueFromLegacy(
      events,
      new Map(),
      new Map([
        ['p', legacy(2500, 250, 10, 1)],
        ['q', legacy(2400, 250, 10, 1)],
        ['late', legacy(1500, 300, 4, 9)], // legacy has data after this event: it stays as legacy says
      ]),
    );
    expect(r.history.map((h) => h.userId).sort()).toEqual(['p', 'q']);
    expect(r.states.get('late')).toBeUndefined();
    // 'late' was in the field, so the outcome is not vector 2's, but p and q moved in the vector's directions
    expect(r.states.get('p')!.rating).toBeLessThan(2500);
    expect(r.states.get('q')!.rating).toBeGreaterThan(2400);
  });

  it('reproduces vector 2 exactly when only the two rated members take part', () => {
    const r = continueFromLegacy(
      [ev('v2', 5, { p: 0, q: 100 })],
      new Map(),
      new Map([
        ['p', legacy(2500, 250, 10, 1)],
        ['q', legacy(2400, 250, 10, 1)],
      ]),
    );
    expect(r.states.get('p')).toEqual({ rating: 2461, volatility: 240, timesRated: 11 });
    expect(r.states.get('q')).toEqual({ rating: 2442, volatility: 239, timesRated: 11 });
  });

  it('a member legacy rated without any history row enters as rated, not new', () => {
    const r = continueFromLegacy([ev('e', 5, { m: 10, n: 5 })], new Map(), new Map([['m', legacy(1500, 400, 0, null)]]));
    const m = r.history.find((h) => h.userId === 'm')!;
    expect(m.oldRating).toBe(1500);
    expect(r.states.get('m')!.timesRated).toBe(2);
    expect(r.history.find((h) => h.userId === 'n')!.oldRating).toBeNull();
  });

  it('a recorded outcome after engine-rated events sets the rating again (the old system’s word is kept)', () => {
    const events = [ev('e1', 5, { m: 10, n: 5 }), ev('e2', 6, { m: 1, n: 2 })];
    const r = continueFromLegacy(events, rec({ e2: { m: 1234, n: 1111 } }), new Map());
    // e2 is recorded for both: they are preserved there, so legacy ends at e2 and e1 (before it) is not re-rated either
    expect(r.history).toEqual([]);
  });

  it('hands over exactly legacy’s current state, even where recorded results end elsewhere (a hand correction, legacy-only rows)', () => {
    // recorded results walk a to 1692, but legacy's stats (hand-corrected) say 1800/300 after 5 ratings: vector 1 again
    const events = [ev('old-1', 1, { a: 5, b: 9 }), VECTOR_EVENT];
    const r = continueFromLegacy(
      events,
      rec({ 'old-1': { a: 1692, b: 2200 } }),
      new Map([
        ['a', legacy(1800, 300, 5, 2)],
        ['b', legacy(2200, 250, 8, 1)],
        ['d', legacy(1500, 400, 3, 1)],
      ]),
    );
    expect(r.history.find((h) => h.userId === 'a')).toMatchObject({ oldRating: 1800, newRating: 1927, oldVolatility: 300 });
    expect(r.states.get('a')).toEqual({ rating: 1927, volatility: 341, timesRated: 6 });
  });
});
