import { sql, type Kysely } from 'kysely';
import type { CatalogNames } from '../../domain/catalog';
import { iso, sortHistory, sortTracks, type HistoryEntry, type MaxRating, type TrackStats } from '../../domain/member-stats';

/** Member stats read from the unified tables. Private rows (isPrivate) are not part of the public read API. */

type UnifiedRow = Omit<TrackStats, 'track' | 'type' | 'mostRecentEventDate' | 'mostRecentSubmission'> & {
  trackId: string;
  typeId: string;
  mostRecentEventDate: Date | null;
  mostRecentSubmission: Date | null;
};

export async function unifiedTracks(
  db: Kysely<any>,
  names: CatalogNames,
  userId: number,
): Promise<{ tracks: TrackStats[]; maxRating: MaxRating | null }> {
  const [stats, max] = await Promise.all([
    sql<UnifiedRow>`
      SELECT "trackId", "typeId", challenges, wins, rating, volatility, "maxRating", "minRating", "globalRank", "countryRank",
             "schoolRank", percentile, "avgRank", "avgNumSubmissions", "bestRank", "topFiveFinishes", "topTenFinishes",
             "mostRecentEventDate", "mostRecentSubmission"
      FROM members."memberStats" WHERE "userId" = ${userId} AND NOT "isPrivate"`.execute(db),
    sql<MaxRating>`
      SELECT rating, track, "subTrack", "ratingColor" FROM members."memberMaxRating" WHERE "userId" = ${userId}`.execute(db),
  ]);
  const tracks = stats.rows.map(({ trackId, typeId, ...r }) => ({
    ...r,
    track: names.trackName(trackId),
    type: names.typeName(typeId),
    mostRecentEventDate: iso(r.mostRecentEventDate),
    mostRecentSubmission: iso(r.mostRecentSubmission),
  }));
  return { tracks: sortTracks(tracks), maxRating: max.rows[0] ?? null };
}

interface UnifiedHistoryRow {
  trackId: string;
  typeId: string;
  challengeId: string;
  challengeName: string | null;
  eventDate: Date;
  newRating: number | null;
  placement: number | null;
  percentile: number | null;
}

export async function unifiedHistory(db: Kysely<any>, names: CatalogNames, userId: number): Promise<HistoryEntry[]> {
  const { rows } = await sql<UnifiedHistoryRow>`
    SELECT "trackId", "typeId", "challengeId", "challengeName", "eventDate", "newRating", placement, percentile
    FROM members."memberStatsHistory" WHERE "userId" = ${userId}`.execute(db);
  return sortHistory(
    rows.map((r) => ({
      track: names.trackName(r.trackId),
      type: names.typeName(r.typeId),
      challengeId: r.challengeId,
      challengeName: r.challengeName,
      date: r.eventDate.toISOString(),
      rating: r.newRating,
      placement: r.placement,
      percentile: r.percentile,
    })),
  );
}
