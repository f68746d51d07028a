import { z } from 'zod';
import { ratingColor, type CatalogNames } from './catalog';
import { READ_SOURCES } from './read-source';

/**
 * Member stats as readers get them, from legacy and unified tables alike: one shape (zod, the single source for
 * validation and the API's JSON Schemas) and the rules both read paths share, so their answers differ only where
 * the data does.
 */

const int = z.number().int();
const nint = int.nullable();
const num = z.number().nullable();
const timestamp = (description: string) => z.string().meta({ format: 'date-time', description });

export const TrackStats = z.object({
  track: z.string().meta({ description: 'track name from the challenge catalogue, e.g. DEVELOPMENT' }),
  type: z.string().meta({ description: 'challenge type name, e.g. Challenge, SRM, Marathon Match' }),
  challenges: int,
  wins: int,
  rating: nint,
  volatility: nint,
  maxRating: nint,
  minRating: nint,
  globalRank: nint,
  countryRank: nint,
  schoolRank: nint,
  percentile: num,
  avgRank: num,
  avgNumSubmissions: num,
  bestRank: nint,
  topFiveFinishes: nint,
  topTenFinishes: nint,
  mostRecentEventDate: timestamp('ISO 8601').nullable(),
  mostRecentSubmission: timestamp('ISO 8601').nullable(),
});
export type TrackStats = z.infer<typeof TrackStats>;

export const MaxRating = z.object({
  rating: int,
  track: z.string(),
  subTrack: z.string().meta({ description: 'challenge type name of the rated row' }),
  ratingColor: z.string(),
});
export type MaxRating = z.infer<typeof MaxRating>;

const ReadSourceEnum = z.enum(READ_SOURCES).meta({ description: 'which tables answered this request' });

export const MemberStats = z.object({
  userId: int,
  handle: z.string(),
  handleLower: z.string(),
  readSource: ReadSourceEnum,
  tracks: z.array(TrackStats).meta({ description: 'one entry per (track, type), sorted by track then type' }),
  maxRating: MaxRating.nullable().meta({ description: 'highest current rating across the rated entries; null when unrated' }),
});
export type MemberStats = z.infer<typeof MemberStats>;

export const HistoryEntry = z.object({
  track: z.string(),
  type: z.string(),
  challengeId: z.string().meta({ description: 'legacy numeric id or challenge UUID, as text' }),
  challengeName: z.string().nullable(),
  date: timestamp('event (rating) date, ISO 8601'),
  rating: nint.meta({ description: 'rating after this event' }),
  placement: nint,
  percentile: num,
});
export type HistoryEntry = z.infer<typeof HistoryEntry>;

export const MemberHistory = z.object({
  userId: int,
  handle: z.string(),
  readSource: ReadSourceEnum,
  history: z.array(HistoryEntry).meta({ description: 'chronological; ties by challengeId (as text), then track, type' }),
});
export type MemberHistory = z.infer<typeof MemberHistory>;

export const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function sortTracks(rows: TrackStats[]): TrackStats[] {
  return rows.sort((a, b) => byText(a.track, b.track) || byText(a.type, b.type));
}

/** Chronological; ties by challengeId compared as text, then track and type — the same rule for both sources. */
export function sortHistory(rows: HistoryEntry[]): HistoryEntry[] {
  return rows.sort(
    (a, b) => byText(a.date, b.date) || byText(a.challengeId, b.challengeId) || byText(a.track, b.track) || byText(a.type, b.type),
  );
}

/**
 * memberMaxRating's rule (store/derived.ts) applied to legacy rows: the highest current rating, ties → later
 * mostRecentEventDate, then trackId, typeId (the catalogue's ids, hence `names`).
 */
export function maxRatingOf(rows: TrackStats[], names: CatalogNames): MaxRating | null {
  let best: TrackStats | undefined;
  const key = (r: TrackStats) => `${names.trackId(r.track) ?? r.track}/${names.typeId(r.type) ?? r.type}`;
  for (const r of rows) {
    if (r.rating === null) continue;
    if (!best || best.rating === null) {
      best = r;
      continue;
    }
    const d = r.rating - best.rating || byText(r.mostRecentEventDate ?? '', best.mostRecentEventDate ?? '') || byText(key(best), key(r));
    if (d > 0) best = r;
  }
  if (!best || best.rating === null) return null;
  return { rating: best.rating, track: best.track, subTrack: best.type, ratingColor: ratingColor(best.rating) };
}
