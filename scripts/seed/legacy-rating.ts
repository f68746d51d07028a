import { erf, normalQuantile } from '../../domain/rating/normal';
import { competitionPlacements } from '../../domain/rating/placement';
import { percentileOf, type HistoryRow, type MemberState, type RatedEvent } from '../../domain/rating/replay';

/**
 * The old system's rating process, as the seed's legacy tables were "computed" by it — deliberately not our engine
 * (RATINGS.md, "The legacy system's numbers are not ours"), so a migration that recomputes instead of preserving
 * shows up as parity differences:
 * - the older JavaScript port's weight boundary: × 0.8 only for r > 2500 (ours: r ≥ 2500);
 * - new players rated against the ratings and volatilities the previously rated participants already got in the
 *   same event (ours: everyone's pre-event values);
 * - an occasional hand correction of a rating by an administrator (`correct`), which later events build on.
 * The formulas are otherwise the spec's; the arithmetic is written here on its own, not borrowed from the engine.
 */

interface Entry {
  id: string;
  r: number;
  v: number;
  n: number;
  score: number;
  fresh: boolean;
}

function weight(r: number, n: number): number {
  const w = 1 / (1 - (0.42 / (n + 1) + 0.18)) - 1;
  if (r > 2500) return w * 0.8;
  if (r >= 2000) return w * 0.9;
  return w;
}

/** Average 1-based positions by score (highest first) within the pool. */
function actualRanks(pool: Entry[]): Map<string, number> {
  const sorted = [...pool].sort((a, b) => b.score - a.score);
  const out = new Map<string, number>();
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1]!.score === sorted[i]!.score) j++;
    const avg = (i + 1 + (j + 1)) / 2;
    for (let k = i; k <= j; k++) out.set(sorted[k]!.id, avg);
    i = j + 1;
  }
  return out;
}

/** New rating and volatility of each of `rate` against `pool` (pre-event values as given in `pool`). */
function ratePool(pool: Entry[], rate: Entry[]): Map<string, { rating: number; volatility: number }> {
  const n = pool.length;
  const ave = pool.reduce((s, e) => s + e.r, 0) / n;
  const cf = Math.sqrt(
    pool.reduce((s, e) => s + e.v * e.v, 0) / n + (n > 1 ? pool.reduce((s, e) => s + (e.r - ave) ** 2, 0) / (n - 1) : 0),
  );
  const ranks = actualRanks(pool);
  const out = new Map<string, { rating: number; volatility: number }>();
  for (const me of rate) {
    let eRank = 0.5;
    for (const o of pool) {
      const d = Math.sqrt(2 * (o.v * o.v + me.v * me.v));
      eRank += d === 0 ? (o.r > me.r ? 1 : o.r < me.r ? 0 : 0.5) : 0.5 * (erf((o.r - me.r) / d) + 1);
    }
    const ePerf = -normalQuantile((eRank - 0.5) / n);
    const aPerf = -normalQuantile((ranks.get(me.id)! - 0.5) / n);
    const perfAs = me.r + cf * (aPerf - ePerf);
    const w = weight(me.r, me.n);
    const cap = 150 + 1500 / (me.n + 2);
    let newR = (me.r + w * perfAs) / (1 + w);
    newR = Math.min(me.r + cap, Math.max(me.r - cap, newR));
    newR = Math.max(1, newR);
    const newV = me.fresh ? 385 : Math.sqrt((newR - me.r) ** 2 / w + (me.v * me.v) / (1 + w));
    out.set(me.id, { rating: Math.round(newR), volatility: Math.round(newV) });
  }
  return out;
}

/**
 * Rates one event the old way and applies it to `states` (mutated); history rows in participant order, like the
 * replay's. `correct(userId)` returns an administrator's adjustment of the member's new rating (0 for none).
 */
export function applyLegacyEvent(event: RatedEvent, states: Map<string, MemberState>, correct: (userId: string) => number): HistoryRow[] {
  const entries: Entry[] = event.participants.map((p) => {
    const s = states.get(p.userId);
    const fresh = !s || s.rating === null || s.timesRated === 0;
    return {
      id: p.userId,
      r: fresh ? 1200 : s.rating!,
      v: fresh ? 515 : (s.volatility ?? 515),
      n: fresh ? 0 : s.timesRated,
      score: p.score,
      fresh,
    };
  });
  const rated = entries.filter((e) => !e.fresh);
  const fresh = entries.filter((e) => e.fresh);
  const first = rated.length > 0 ? ratePool(rated, rated) : new Map<string, { rating: number; volatility: number }>();
  // the old port: newcomers meet the field as it stands after the rated participants' update
  const field = entries.map((e) => {
    const u = first.get(e.id);
    return u ? { ...e, r: u.rating, v: u.volatility } : e;
  });
  const second = fresh.length > 0 ? ratePool(field, fresh) : new Map<string, { rating: number; volatility: number }>();
  const placements = competitionPlacements(entries.map((e) => e.score));
  return entries.map((e, i) => {
    const res = (e.fresh ? second : first).get(e.id)!;
    const rating = Math.max(1, res.rating + correct(e.id));
    const prior = states.get(e.id);
    states.set(e.id, { rating, volatility: res.volatility, timesRated: (e.fresh ? 0 : e.n) + 1 });
    return {
      challengeId: event.challengeId,
      userId: e.id,
      oldRating: e.fresh ? null : (prior?.rating ?? null),
      newRating: rating,
      oldVolatility: e.fresh ? null : (prior?.volatility ?? null),
      newVolatility: res.volatility,
      placement: placements[i]!,
      percentile: percentileOf(placements[i]!, entries.length),
      eventDate: event.endDate,
    };
  });
}
