import { isNewParticipant, rateEventWithPlacements, type RatingParticipant } from './engine';
import { orderEvents, percentileOf, type HistoryRow, type MemberState, type RatedEvent } from './replay';
import { drain, type Steps } from '../steps';

/**
 * Preserved versus computed (DESIGN.md): a rating stream replayed the way the real migration's
 * `useLegacySourceRatings` does. What the old system rated stays as it rated it; the engine rates only what came
 * after a member's legacy data, starting from the member's legacy state. Pure.
 *
 * - An event's recorded outcome (challengeResult old/new rating written by the old system) is kept: the member's
 *   rating becomes the recorded newRating, volatility is carried forward (the old system's per-event volatility is
 *   not recorded; the member's legacy volatility is the last one known), and the count of ratings grows by one.
 * - A member's events up to their legacy end (their last recorded or legacy-history event) are never re-rated.
 * - Any other participation is rated by the engine against everyone in the event, from the participants' current
 *   states; a member the engine meets for the first time starts from their legacy state (rating, volatility,
 *   number of ratings), or as new when legacy has none.
 */

export interface LegacyStreamState {
  /** the stream's current legacy rating and volatility (null: legacy never rated the member here) */
  rating: number | null;
  volatility: number | null;
  /** rated events legacy holds for the member (history rows) */
  ratings: number;
  /** the member's last legacy event on the stream (ms since epoch), if any */
  lastEventAt: number | null;
}

export interface ContinuationResult {
  /** history rows of the events the engine rated, one per rated member and event */
  history: HistoryRow[];
  /** members the engine rated at least once, with their state after the last such event */
  states: Map<string, MemberState>;
}

export function continueFromLegacy(
  events: readonly RatedEvent[],
  /** challengeId → userId → the old system's newRating */
  recorded: ReadonlyMap<string, ReadonlyMap<string, number>>,
  legacy: ReadonlyMap<string, LegacyStreamState>,
): ContinuationResult {
  return drain(continueFromLegacySteps(events, recorded, legacy));
}

/** continueFromLegacy, one event per step. */
export function* continueFromLegacySteps(
  events: readonly RatedEvent[],
  recorded: ReadonlyMap<string, ReadonlyMap<string, number>>,
  legacy: ReadonlyMap<string, LegacyStreamState>,
): Steps<ContinuationResult> {
  const ordered = orderEvents(events);
  // where each member's legacy data ends: the later of their legacy history and their recorded results
  const legacyEnd = new Map<string, number>();
  const recordedCount = new Map<string, number>();
  for (const [id, l] of legacy) if (l.lastEventAt !== null) legacyEnd.set(id, l.lastEventAt);
  for (const e of ordered) {
    for (const userId of recorded.get(e.challengeId)?.keys() ?? []) {
      legacyEnd.set(userId, Math.max(legacyEnd.get(userId) ?? -Infinity, e.endDate.getTime()));
      recordedCount.set(userId, (recordedCount.get(userId) ?? 0) + 1);
    }
    // a step per event here too: on a large stream this walk alone held a worker's event loop for a third of a second
    yield;
  }
  const states = new Map<string, MemberState>();
  const stateOf = (userId: string): MemberState => {
    let s = states.get(userId);
    if (!s) {
      const l = legacy.get(userId);
      // ratings legacy holds beyond the recorded events walked below (legacy-only history): counted up front
      const before = Math.max(0, (l?.ratings ?? 0) - (recordedCount.get(userId) ?? 0));
      s = { rating: l?.rating ?? null, volatility: l?.volatility ?? null, timesRated: before };
      states.set(userId, s);
    }
    return s;
  };

  const history: HistoryRow[] = [];
  const engineRated = new Set<string>();
  for (const e of ordered) {
    const rec = recorded.get(e.challengeId);
    const at = e.endDate.getTime();
    const preserved = (userId: string) => rec?.has(userId) === true || at <= (legacyEnd.get(userId) ?? -Infinity);
    const toRate = e.participants.filter((p) => !preserved(p.userId));
    if (toRate.length > 0) {
      const participants: RatingParticipant[] = e.participants.map((p) => {
        const s = stateOf(p.userId);
        // the hand-over: a member the engine rates for the first time starts exactly from legacy's current state
        // (its stats, which hand corrections and legacy-only history rows may have moved past the recorded results)
        const l = legacy.get(p.userId);
        if (!preserved(p.userId) && !engineRated.has(p.userId) && l?.rating != null) {
          s.rating = l.rating;
          s.volatility = l.volatility;
          s.timesRated = Math.max(s.timesRated, l.ratings);
        }
        // a member legacy rated is never new, even where legacy kept no history row for it
        const timesRated = s.rating !== null ? Math.max(s.timesRated, 1) : s.timesRated;
        return { id: p.userId, rating: s.rating, volatility: s.volatility, timesRated, score: p.score };
      });
      const { results, placements } = rateEventWithPlacements(participants);
      const n = participants.length;
      results.forEach((r, i) => {
        const before = participants[i]!;
        if (preserved(before.id)) return;
        const fresh = isNewParticipant(before);
        const s = stateOf(before.id);
        history.push({
          challengeId: e.challengeId,
          userId: before.id,
          oldRating: fresh ? null : before.rating,
          newRating: r.rating,
          oldVolatility: fresh ? null : before.volatility,
          newVolatility: r.volatility,
          placement: placements[i]!,
          percentile: percentileOf(placements[i]!, n),
          eventDate: e.endDate,
        });
        s.rating = r.rating;
        s.volatility = r.volatility;
        s.timesRated = r.timesRated;
        engineRated.add(before.id);
      });
    }
    for (const [userId, newRating] of rec ?? []) {
      const s = stateOf(userId);
      s.rating = newRating;
      s.timesRated += 1;
    }
    yield;
  }
  return { history, states: new Map([...engineRated].map((id) => [id, states.get(id)!])) };
}
