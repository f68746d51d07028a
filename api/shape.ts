import { ratingColor, TRACKS, TYPES } from '../domain/catalog';
import type { HistoryEntry, MaxRating, TrackStats } from './schemas';

/** Helpers both read paths share, so legacy and unified answers differ only where the data does. */

let trackNames = new Map<string, string>(TRACKS.map((t) => [t.id, t.track]));
let typeNames = new Map<string, string>(TYPES.map((t) => [t.id, t.name]));
let trackIds = new Map<string, string>(TRACKS.map((t) => [t.track, t.id]));
let typeIds = new Map<string, string>(TYPES.map((t) => [t.name, t.id]));

/**
 * Adopts the ids the challenges database really has (an environment's ChallengeTrack/ChallengeType ids need not
 * be the ones domain/catalog.ts ships). Reference data for the whole process, loaded once at start-up.
 */
export function useCatalog(c: { tracks: Array<{ id: string; track: string }>; types: Array<{ id: string; name: string }> }): void {
  trackNames = new Map(c.tracks.map((t) => [t.id, t.track]));
  typeNames = new Map(c.types.map((t) => [t.id, t.name]));
  trackIds = new Map(c.tracks.map((t) => [t.track, t.id]));
  typeIds = new Map(c.types.map((t) => [t.name, t.id]));
}

/** Names by catalogue id (no cross-database join); an id the catalogue does not know is shown as is. */
export const trackName = (id: string) => trackNames.get(id) ?? id;
export const typeName = (id: string) => typeNames.get(id) ?? id;

export const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function sortTracks(rows: TrackStats[]): TrackStats[] {
  return rows.sort((a, b) => byText(a.track, b.track) || byText(a.type, b.type));
}

/** Chronological; ties by challengeId compared as text, then track and type — the same rule for both sources. */
export function sortHistory(rows: HistoryEntry[]): HistoryEntry[] {
  return rows.sort((a, b) => byText(a.date, b.date) || byText(a.challengeId, b.challengeId) || byText(a.track, b.track) || byText(a.type, b.type));
}

/**
 * memberMaxRating's rule (activities/sql/derived.ts) applied to legacy rows: the highest current rating, ties →
 * later mostRecentEventDate, then trackId, typeId.
 */
export function maxRatingOf(rows: TrackStats[]): MaxRating | null {
  let best: TrackStats | undefined;
  const key = (r: TrackStats) => `${trackIds.get(r.track) ?? r.track}/${typeIds.get(r.type) ?? r.type}`;
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
