import { sql, type Kysely } from 'kysely';

/** Whole-table fingerprints of the unified tables: how equal runs are told apart from unequal ones (tests, chaos suite). */

export interface UnifiedChecksum {
  stats: string;
  history: string;
  maxRating: string;
  /** rows in memberStats, memberStatsHistory, memberMaxRating */
  counts: number[];
}

/** A checksum of the unified tables' content (ids and timestamps left out: they differ between equal runs). */
export async function unifiedChecksum(db: Kysely<any>): Promise<UnifiedChecksum> {
  const r = await sql<{ stats: string; history: string; max: string; ns: number; nh: number; nm: number }>`
    SELECT
      (SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY t::text), '')) FROM (
        SELECT "userId", "trackId", "typeId", challenges, wins, rating, volatility, "maxRating", "minRating", "globalRank",
               "countryRank", "schoolRank", percentile, "avgRank", "avgNumSubmissions", "bestRank", "topFiveFinishes",
               "topTenFinishes", "mostRecentEventDate", "mostRecentSubmission", "isPrivate" FROM members."memberStats") t) AS stats,
      (SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY t::text), '')) FROM (
        SELECT "userId", "trackId", "typeId", "challengeId", "challengeName", "oldRating", "newRating", "oldVolatility",
               "newVolatility", placement, percentile, "eventDate", "mostRecent", "createdBy" FROM members."memberStatsHistory") t) AS history,
      (SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY t::text), '')) FROM (
        SELECT "userId", rating, track, "subTrack", "ratingColor" FROM members."memberMaxRating") t) AS max,
      (SELECT count(*)::int FROM members."memberStats") AS ns,
      (SELECT count(*)::int FROM members."memberStatsHistory") AS nh,
      (SELECT count(*)::int FROM members."memberMaxRating") AS nm`.execute(db);
  const row = r.rows[0]!;
  return { stats: row.stats, history: row.history, maxRating: row.max, counts: [row.ns, row.nh, row.nm] };
}

export async function clearUnified(db: Kysely<any>): Promise<void> {
  await sql`TRUNCATE members."memberStats", members."memberStatsHistory", members."memberMaxRating"`.execute(db);
}

/** Keys held by more than one row: a retried write that was not idempotent shows here even when counts happen to match. */
export async function duplicateKeys(db: Kysely<any>): Promise<{ stats: number; history: number }> {
  const r = await sql<{ stats: number; history: number }>`
    SELECT
      (SELECT count(*)::int FROM (SELECT 1 FROM members."memberStats"
         GROUP BY "userId", "trackId", "typeId" HAVING count(*) > 1) d) AS stats,
      (SELECT count(*)::int FROM (SELECT 1 FROM members."memberStatsHistory"
         GROUP BY "userId", "trackId", "typeId", "challengeId" HAVING count(*) > 1) d) AS history`.execute(db);
  return r.rows[0]!;
}
