import { sql, type RawBuilder } from 'kysely';
import { MARATHON_KEY, SRM_KEY } from '../../domain/mapping';
import type { ParityScope } from '../../domain/parity';
import type { Catalog } from '../../domain/catalog';
import { designMap, developMap, dsHistoryMap, keyIds } from '../catalog';

/**
 * The legacy side of parity as relations over the members in scope, keyed the way the backfill keys unified rows
 * (domain/mapping.ts). Only members present in `member` are in scope: the backfill skips the others.
 */

/** SELECT "userId" of the members in scope. */
export function scopeMembers(scope: ParityScope): RawBuilder<unknown> {
  return 'all' in scope
    ? sql`SELECT "userId" FROM members."member"`
    : sql`SELECT "userId" FROM members."member" WHERE "userId" = ANY(${scope.userIds}::bigint[])`;
}

export const trackId = (catalog: Catalog, track: string): string => {
  const t = catalog.tracks.find((x) => x.track === track);
  if (!t) throw new Error(`the challenges catalogue lacks track ${track}`);
  return t.id;
};

/**
 * One legacy stats row per (member, unified key) with the legacy family it came from — the backfill's rule:
 * design items collapse onto their key (counts summed, latest dates); duplicate parent rows → the most recent.
 * Columns carry the unified names (rank → globalRank, maximumRating → maxRating, …).
 */
export function legacyStats(c: Catalog, scope: ParityScope): RawBuilder<unknown> {
  const [srmTrack, srmType] = keyIds(c, SRM_KEY);
  const [mmTrack, mmType] = keyIds(c, MARATHON_KEY);
  return sql`
    SELECT DISTINCT ON ("userId", track_id, type_id) * FROM (
      SELECT p."userId", m.track_id, m.type_id, 'DEVELOP' AS family, i.challenges, i.wins, i.rating, i.volatility,
             i."maxRating", i."minRating", i."overallRank" AS "globalRank", i."countryRank", i."schoolRank",
             NULL::float8 AS "avgRank", NULL::float8 AS "avgNumSubmissions", NULL::int AS "bestRank",
             NULL::int AS "topFiveFinishes", NULL::int AS "topTenFinishes", i."mostRecentEventDate", i."mostRecentSubmission"
      FROM (${scopeMembers(scope)}) p
      JOIN members."memberDevelopStats" ds ON ds."userId" = p."userId"
      JOIN members."memberDevelopStatsItem" i ON i."developStatsId" = ds.id
      JOIN ${developMap(c)} AS m(name, track_id, type_id) ON m.name = i.name
      UNION ALL
      SELECT p."userId", m.track_id, m.type_id, 'DESIGN', sum(i.challenges)::int, sum(i.wins)::int, NULL, NULL, NULL, NULL,
             NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, max(i."mostRecentEventDate"), max(i."mostRecentSubmission")
      FROM (${scopeMembers(scope)}) p
      JOIN members."memberDesignStats" ds ON ds."userId" = p."userId"
      JOIN members."memberDesignStatsItem" i ON i."designStatsId" = ds.id
      JOIN ${designMap(c)} AS m(name, track_id, type_id) ON m.name = i.name
      GROUP BY p."userId", m.track_id, m.type_id
      UNION ALL
      SELECT p."userId", ${srmTrack}::uuid, ${srmType}::uuid, 'DATA_SCIENCE', s.challenges, s.wins, s.rating, s.volatility,
             s."maximumRating", s."minimumRating", s.rank, s."countryRank", s."schoolRank", NULL, NULL, NULL, NULL, NULL,
             s."mostRecentEventDate", s."mostRecentSubmission"
      FROM (${scopeMembers(scope)}) p
      JOIN members."memberDataScienceStats" d ON d."userId" = p."userId"
      JOIN members."memberSrmStats" s ON s."dataScienceStatsId" = d.id
      UNION ALL
      SELECT p."userId", ${mmTrack}::uuid, ${mmType}::uuid, 'DATA_SCIENCE', s.challenges, s.wins, s.rating, s.volatility,
             s."maximumRating", s."minimumRating", s.rank, s."countryRank", s."schoolRank", s."avgRank", s."avgNumSubmissions",
             s."bestRank", s."topFiveFinishes", s."topTenFinishes", s."mostRecentEventDate", s."mostRecentSubmission"
      FROM (${scopeMembers(scope)}) p
      JOIN members."memberDataScienceStats" d ON d."userId" = p."userId"
      JOIN members."memberMarathonStats" s ON s."dataScienceStatsId" = d.id
    ) legacy
    ORDER BY "userId", track_id, type_id, "mostRecentEventDate" DESC NULLS LAST, challenges DESC NULLS LAST`;
}

/** Distinct legacy history challenges per (member, unified key): challengeId as the text the backfill stores. */
export function legacyHistory(c: Catalog, scope: ParityScope): RawBuilder<unknown> {
  return sql`
    SELECT p."userId", m.track_id, m.type_id, d."challengeId"::text AS "challengeId"
    FROM (${scopeMembers(scope)}) p
    JOIN members."memberHistoryStats" h ON h."userId" = p."userId"
    JOIN members."memberDevelopHistoryStats" d ON d."historyStatsId" = h.id
    JOIN ${developMap(c)} AS m(name, track_id, type_id) ON m.name = d."subTrack"
    UNION
    SELECT p."userId", m.track_id, m.type_id, d."challengeId"::text
    FROM (${scopeMembers(scope)}) p
    JOIN members."memberHistoryStats" h ON h."userId" = p."userId"
    JOIN members."memberDataScienceHistoryStats" d ON d."historyStatsId" = h.id
    JOIN ${dsHistoryMap(c)} AS m(name, track_id, type_id) ON m.name = d."subTrack"`;
}
