import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rateEvent } from '../domain/rating/engine';
import { competitionPlacements } from '../domain/rating/placement';
import { orderEvents, percentileOf, replay, replayFrom, statesBefore, type MemberState, type RatedEvent } from '../domain/rating/replay';

const day = (d: number) => new Date(Date.UTC(2024, 0, 1 + d));
const ev = (challengeId: string, d: number, scores: Record<string, number>): RatedEvent => ({
  challengeId,
  endDate: day(d),
  participants: Object.entries(scores).map(([userId, score]) => ({ userId, score })),
});

describe('order', () => {
  it('end date ascending, ties by challenge id', () => {
    const order = orderEvents([ev('b', 2, {}), ev('c', 1, {}), ev('a', 2, {})]).map((e) => e.challengeId);
    expect(order).toEqual(['c', 'a', 'b']);
  });
  it('rejects a challenge listed twice and invalid dates', () => {
    expect(() => orderEvents([ev('a', 1, {}), ev('a', 2, {})])).toThrow('listed twice');
    expect(() => orderEvents([{ challengeId: 'x', endDate: new Date(Number.NaN), participants: [] }])).toThrow('invalid endDate');
  });
});

describe('replay', () => {
  it('chains states and writes history rows', () => {
    const { history, states } = replay([ev('c2', 2, { u1: 10, u2: 20 }), ev('c1', 1, { u1: 5, u2: 5, u3: 9, u4: 1 })]);
    const first = rateEvent(
      ['u1', 'u2', 'u3', 'u4'].map((id, i) => ({ id, rating: null, volatility: null, timesRated: 0, score: [5, 5, 9, 1][i]! })),
    );
    expect(history.slice(0, 4).map((h) => [h.userId, h.oldRating, h.newRating, h.newVolatility, h.placement])).toEqual([
      ['u1', null, first[0]!.rating, 385, 2],
      ['u2', null, first[1]!.rating, 385, 2],
      ['u3', null, first[2]!.rating, 385, 1],
      ['u4', null, first[3]!.rating, 385, 4],
    ]);
    expect(history[0]!.percentile).toBe(50);
    expect(history[2]!.percentile).toBe(75);
    expect(history[3]!.percentile).toBe(0);
    const second = history.slice(4);
    expect(second.map((h) => [h.challengeId, h.userId, h.oldRating, h.oldVolatility])).toEqual([
      ['c2', 'u1', first[0]!.rating, 385],
      ['c2', 'u2', first[1]!.rating, 385],
    ]);
    expect(second[0]!.eventDate).toEqual(day(2));
    expect(states.get('u1')!.timesRated).toBe(2);
    expect(states.get('u3')).toEqual({ rating: first[2]!.rating, volatility: 385, timesRated: 1 });
  });

  it('starts from given states without mutating them', () => {
    const initial = new Map<string, MemberState>([['u1', { rating: 2000, volatility: 250, timesRated: 7 }]]);
    const { history, states } = replay([ev('c', 1, { u1: 1, u2: 2 })], initial);
    expect(history[0]).toMatchObject({ oldRating: 2000, oldVolatility: 250 });
    expect(history[1]).toMatchObject({ oldRating: null, oldVolatility: null });
    expect(states.get('u1')!.timesRated).toBe(8);
    expect(initial.get('u1')).toEqual({ rating: 2000, volatility: 250, timesRated: 7 });
  });

  it('names the challenge when an event is invalid', () => {
    expect(() => replay([ev('bad', 1, { u1: Number.NaN })])).toThrow('challenge bad: participants[0].score');
  });

  it('placements and percentiles', () => {
    expect(competitionPlacements([10, 20, 20, 5])).toEqual([3, 1, 1, 4]);
    expect(percentileOf(1, 1)).toBe(0);
    expect(percentileOf(1, 4)).toBe(75);
  });
});

const eventsArb = fc
  .array(
    fc.record({
      day: fc.integer({ min: 0, max: 20 }),
      members: fc.uniqueArray(fc.integer({ min: 0, max: 15 }), { minLength: 1, maxLength: 10 }),
      scores: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 10, maxLength: 10 }),
    }),
    { minLength: 1, maxLength: 15 },
  )
  .map((rows) =>
    rows.map((r, i): RatedEvent => ({
      challengeId: `c${String(i).padStart(2, '0')}`,
      endDate: day(r.day),
      participants: r.members.map((m, k) => ({ userId: `u${m}`, score: r.scores[k]! })),
    })),
  );

describe('from challenge X forward', () => {
  it('equals the tail of the full replay (history and final states), from any base', () => {
    const baseArb = fc.array(
      fc.tuple(
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 50, max: 600 }),
        fc.integer({ min: 0, max: 20 }),
      ),
      {
        maxLength: 6,
      },
    );
    fc.assert(
      fc.property(eventsArb, baseArb, fc.nat(), (events, baseRows, pick) => {
        const base = new Map<string, MemberState>(
          baseRows.map(([m, rating, volatility, timesRated]) => [`u${m}`, { rating, volatility, timesRated }]),
        );
        const full = replay(events, base);
        const ordered = orderEvents(events);
        const x = ordered[pick % ordered.length]!.challengeId;
        const tailIds = new Set(ordered.slice(ordered.findIndex((e) => e.challengeId === x)).map((e) => e.challengeId));
        const from = replayFrom(events, full.history, x, base);
        expect(from.history).toEqual(full.history.filter((h) => tailIds.has(h.challengeId)));
        expect(from.states).toEqual(full.states);
      }),
      { numRuns: 300 },
    );
  });

  it('statesBefore the first event is the base; an unknown challenge is an error', () => {
    const events = [ev('a', 1, { u1: 1 }), ev('b', 2, { u1: 2 })];
    const full = replay(events);
    expect(statesBefore(events, full.history, 'a')).toEqual(new Map());
    expect(statesBefore(events, full.history, 'b').get('u1')).toEqual({ rating: 1200, volatility: 385, timesRated: 1 });
    expect(() => statesBefore(events, full.history, 'zzz')).toThrow('not among the events');
  });
});
