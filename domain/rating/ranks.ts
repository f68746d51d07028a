import { ratingColor } from '../catalog';

/**
 * Pure reference for the set-based rank and max-rating SQL (which is tested against it).
 *
 * - globalRank: RANK() OVER (PARTITION BY trackId, typeId, isPrivate ORDER BY rating DESC) — ties share a rank,
 *   the next rank skips (1, 2, 2, 4). Rows without a rating get no rank and do not count.
 * - countryRank: the same, partitioned also by country = competitionCountryCode, else homeCountryCode, else
 *   country (blank strings count as missing). No country → no countryRank.
 * - memberMaxRating: per member the row with the highest current rating (ties → later mostRecentEventDate, a
 *   missing date counting as earliest; then trackId/typeId for determinism), with its colour.
 */

export interface RankInputRow {
  userId: string;
  trackId: string;
  typeId: string;
  isPrivate: boolean;
  rating: number | null;
  competitionCountryCode?: string | null;
  homeCountryCode?: string | null;
  country?: string | null;
}

export interface RankOutput {
  globalRank: number | null;
  countryRank: number | null;
}

function present(s: string | null | undefined): string | null {
  return s !== null && s !== undefined && s.trim() !== '' ? s : null;
}

/** The country a member is ranked in, or null. */
export function rankCountry(row: Pick<RankInputRow, 'competitionCountryCode' | 'homeCountryCode' | 'country'>): string | null {
  return present(row.competitionCountryCode) ?? present(row.homeCountryCode) ?? present(row.country);
}

/** RANK() by rating desc within the groups `key` defines; a null key or rating → no rank. */
function rankWithin(
  rows: readonly RankInputRow[],
  key: (r: RankInputRow) => string | null,
  assign: (i: number, rank: number) => void,
): void {
  const groups = new Map<string, number[]>();
  rows.forEach((r, i) => {
    const k = r.rating === null || !Number.isFinite(r.rating) ? null : key(r);
    if (k === null) return;
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  });
  for (const members of groups.values()) {
    members.sort((a, b) => rows[b]!.rating! - rows[a]!.rating!);
    let rank = 0;
    members.forEach((i, k) => {
      if (k === 0 || rows[i]!.rating !== rows[members[k - 1]!]!.rating) rank = k + 1;
      assign(i, rank);
    });
  }
}

/** Ranks aligned with `rows`. */
export function computeRanks(rows: readonly RankInputRow[]): RankOutput[] {
  const out: RankOutput[] = rows.map(() => ({ globalRank: null, countryRank: null }));
  const base = (r: RankInputRow) => JSON.stringify([r.trackId, r.typeId, r.isPrivate]);
  rankWithin(rows, base, (i, rank) => (out[i]!.globalRank = rank));
  rankWithin(
    rows,
    (r) => {
      const c = rankCountry(r);
      return c === null ? null : JSON.stringify([r.trackId, r.typeId, r.isPrivate, c]);
    },
    (i, rank) => (out[i]!.countryRank = rank),
  );
  return out;
}

export interface MaxRatingInputRow {
  userId: string;
  trackId: string;
  typeId: string;
  /** Names written to memberMaxRating.track / .subTrack. */
  track: string;
  subTrack: string;
  rating: number | null;
  mostRecentEventDate: Date | null;
  /** private rows never make a member's public max rating (member-api-v6) */
  isPrivate?: boolean;
}

export interface MemberMaxRating {
  userId: string;
  rating: number;
  track: string;
  subTrack: string;
  ratingColor: string;
}

function time(d: Date | null): number {
  const t = d?.getTime();
  return t !== undefined && Number.isFinite(t) ? t : Number.MIN_SAFE_INTEGER;
}

function better(a: MaxRatingInputRow, b: MaxRatingInputRow): boolean {
  if (a.rating !== b.rating) return a.rating! > b.rating!;
  const ta = time(a.mostRecentEventDate);
  const tb = time(b.mostRecentEventDate);
  if (ta !== tb) return ta > tb;
  if (a.trackId !== b.trackId) return a.trackId < b.trackId;
  return a.typeId < b.typeId;
}

/** One memberMaxRating per member with at least one rated row, ordered by userId. */
export function memberMaxRatings(rows: readonly MaxRatingInputRow[]): MemberMaxRating[] {
  const best = new Map<string, MaxRatingInputRow>();
  for (const row of rows) {
    if (row.rating === null || !Number.isFinite(row.rating) || row.isPrivate) continue;
    const cur = best.get(row.userId);
    if (!cur || better(row, cur)) best.set(row.userId, row);
  }
  return [...best.values()]
    .sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0))
    .map((r) => ({ userId: r.userId, rating: r.rating!, track: r.track, subTrack: r.subTrack, ratingColor: ratingColor(r.rating!) }));
}
