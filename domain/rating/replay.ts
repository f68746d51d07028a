import { isNewParticipant, rateEventWithPlacements, type RatingParticipant } from './engine';

/**
 * Replays one track/type's rated events in order from given starting states. Pure: no I/O, inputs untouched.
 *
 * Order: endDate ascending, ties by challengeId (code-unit order) — a stable key every source agrees on.
 * History placement: competition ranking by score (1, 2, 2, 4). Percentile: 100 · (N − placement) / N, the share
 * of the field placed below or level with the member (others only); the last place scores 0, a lone
 * participant 0, a winner of N gets 100 · (N − 1)/N. Unrounded (always finite).
 */

export interface MemberState {
  rating: number | null;
  volatility: number | null;
  timesRated: number;
}

export interface EventParticipant {
  userId: string;
  score: number;
}

export interface RatedEvent {
  challengeId: string;
  endDate: Date;
  participants: readonly EventParticipant[];
}

export interface HistoryRow {
  challengeId: string;
  userId: string;
  /** null when the member entered as new (never rated on this track/type). */
  oldRating: number | null;
  newRating: number;
  oldVolatility: number | null;
  newVolatility: number;
  placement: number;
  percentile: number;
  eventDate: Date;
}

export interface ReplayResult {
  history: HistoryRow[];
  states: Map<string, MemberState>;
}

function compareEvents(a: RatedEvent, b: RatedEvent): number {
  const d = a.endDate.getTime() - b.endDate.getTime();
  if (d !== 0) return d;
  return a.challengeId < b.challengeId ? -1 : a.challengeId > b.challengeId ? 1 : 0;
}

/** Events in replay order; throws on an invalid end date or a challenge listed twice. */
export function orderEvents(events: readonly RatedEvent[]): RatedEvent[] {
  const seen = new Set<string>();
  for (const e of events) {
    if (!Number.isFinite(e.endDate.getTime())) throw new RangeError(`challenge ${e.challengeId}: invalid endDate`);
    if (seen.has(e.challengeId)) throw new RangeError(`challenge ${e.challengeId} listed twice`);
    seen.add(e.challengeId);
  }
  return [...events].sort(compareEvents);
}

/** Percentile of a placement among n participants (see the module comment). */
export function percentileOf(placement: number, n: number): number {
  return (100 * (n - placement)) / n;
}

/** Applies one event to `states` (the map and its objects are mutated) and returns its history rows in the event's participant order. */
export function applyEvent(event: RatedEvent, states: Map<string, MemberState>): HistoryRow[] {
  const participants: RatingParticipant[] = event.participants.map((p) => {
    const s = states.get(p.userId);
    return {
      id: p.userId,
      rating: s?.rating ?? null,
      volatility: s?.volatility ?? null,
      timesRated: s?.timesRated ?? 0,
      score: p.score,
    };
  });
  let rated;
  try {
    rated = rateEventWithPlacements(participants);
  } catch (err) {
    throw new RangeError(`challenge ${event.challengeId}: ${(err as Error).message}`);
  }
  const { results, placements } = rated;
  const n = participants.length;
  return results.map((res, i) => {
    const before = participants[i]!;
    const placement = placements[i]!;
    const fresh = isNewParticipant(before);
    // States are owned by the replay (copied from the caller's), so they are updated in place.
    const state = states.get(res.id);
    if (state) {
      state.rating = res.rating;
      state.volatility = res.volatility;
      state.timesRated = res.timesRated;
    } else states.set(res.id, { rating: res.rating, volatility: res.volatility, timesRated: res.timesRated });
    return {
      challengeId: event.challengeId,
      userId: res.id,
      oldRating: fresh ? null : before.rating,
      newRating: res.rating,
      oldVolatility: fresh ? null : (before.volatility ?? null),
      newVolatility: res.volatility,
      placement,
      percentile: percentileOf(placement, n),
      eventDate: event.endDate,
    };
  });
}

/** Replays `events` (any order; sorted here) from `initial` states (not mutated). */
export function replay(events: readonly RatedEvent[], initial: ReadonlyMap<string, MemberState> = new Map()): ReplayResult {
  const states = new Map<string, MemberState>();
  for (const [id, s] of initial) states.set(id, { ...s });
  const history: HistoryRow[] = [];
  for (const event of orderEvents(events)) {
    for (const row of applyEvent(event, states)) history.push(row);
  }
  return { history, states };
}

/**
 * The states just before challenge `challengeId`: `base` (the states before the first event) advanced by the
 * stored history rows of every earlier event. timesRated counts those rows on top of the base.
 */
export function statesBefore(
  events: readonly RatedEvent[],
  history: readonly HistoryRow[],
  challengeId: string,
  base: ReadonlyMap<string, MemberState> = new Map(),
): Map<string, MemberState> {
  const ordered = orderEvents(events);
  const stop = ordered.findIndex((e) => e.challengeId === challengeId);
  if (stop < 0) throw new RangeError(`challenge ${challengeId} is not among the events`);
  const rowsByChallenge = new Map<string, HistoryRow[]>();
  for (const row of history) {
    const rows = rowsByChallenge.get(row.challengeId);
    if (rows) rows.push(row);
    else rowsByChallenge.set(row.challengeId, [row]);
  }
  const states = new Map<string, MemberState>();
  for (const [id, s] of base) states.set(id, { ...s });
  for (const event of ordered.slice(0, stop)) {
    for (const row of rowsByChallenge.get(event.challengeId) ?? []) {
      const prior = states.get(row.userId)?.timesRated ?? 0;
      states.set(row.userId, { rating: row.newRating, volatility: row.newVolatility, timesRated: prior + 1 });
    }
  }
  return states;
}

/** Re-rates from challenge `challengeId` forward: the states before it (from `history`), then the tail replayed. */
export function replayFrom(
  events: readonly RatedEvent[],
  history: readonly HistoryRow[],
  challengeId: string,
  base: ReadonlyMap<string, MemberState> = new Map(),
): ReplayResult & { before: Map<string, MemberState> } {
  const before = statesBefore(events, history, challengeId, base);
  const ordered = orderEvents(events);
  const tail = ordered.slice(ordered.findIndex((e) => e.challengeId === challengeId));
  return { ...replay(tail, before), before };
}
