import { INITIAL_VOLATILITY } from '../../../domain/rating/engine';
import { applyEvent, orderEvents, type HistoryRow, type RatedEvent } from '../../../domain/rating/replay';
import { seedStates, type StoredRow } from '../../../domain/rerate';

/**
 * What the naive shape must compute, to check it is the same rerate: domain/rerate.ts rerateStream's replay,
 * except that a participant without a member row — who gets no history row, so a challenge seeded from stored rows
 * meets them with none — enters every event new instead of carrying their state from the previous one.
 */
export function replaySeededFromRows(
  events: readonly RatedEvent[],
  stored: readonly StoredRow[],
  rowless: ReadonlySet<string>,
): HistoryRow[] {
  const ordered = orderEvents(events);
  if (ordered.length === 0) return [];
  const first = ordered[0]!;
  const cutoff = { at: first.endDate.getTime(), challengeId: first.challengeId };
  const before = (r: StoredRow) => r.eventAt < cutoff.at || (r.eventAt === cutoff.at && r.challengeId < cutoff.challengeId);
  const position = (a: { eventAt: number; challengeId: string }, b: { eventAt: number; challengeId: string }) =>
    a.eventAt - b.eventAt || (a.challengeId < b.challengeId ? -1 : a.challengeId > b.challengeId ? 1 : 0);
  const states = seedStates(stored, cutoff);
  const rerated = new Set(ordered.flatMap((e) => e.participants.map((p) => `${p.userId} ${e.challengeId}`)));
  const fixed = stored.filter((r) => r.newRating !== null && !before(r) && !rerated.has(`${r.userId} ${r.challengeId}`)).sort(position);
  const rows: HistoryRow[] = [];
  let f = 0;
  for (const e of ordered) {
    const at = { eventAt: e.endDate.getTime(), challengeId: e.challengeId };
    for (; f < fixed.length && position(fixed[f]!, at) < 0; f++) {
      const r = fixed[f]!;
      const prior = states.get(r.userId)?.timesRated ?? 0;
      states.set(r.userId, { rating: r.newRating, volatility: r.newVolatility ?? INITIAL_VOLATILITY, timesRated: prior + 1 });
    }
    rows.push(...applyEvent(e, states));
    for (const p of e.participants) if (rowless.has(p.userId)) states.delete(p.userId);
  }
  return rows;
}
