import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Catalog } from '../../domain/catalog';
import { MARATHON_KEY, SRM_KEY, type UnifiedKey } from '../../domain/mapping';
import { challengeKeyMap, designMap, developMap, dsHistoryMap, keyIds } from '../catalog';
import { namedColumns } from '../sql';

/**
 * Phase A as set-based SQL over one batch of members. Every statement reads the batch from temp tables filled
 * first — batch_members, and the members' results and winner rows with their challenges (batch_results,
 * batch_winners: store/backfill/sources.ts) — so the same SQL serves a keyset range, explicit ids or, for the
 * benchmark's limit, every member at once, whether the three databases are one or not.
 */

export interface BatchSql {
  catalog: Catalog;
  /** only this track's rows are written (and nothing else is touched) */
  trackId?: string;
  /** the run computes all of a member's rows: rows it no longer produces are removed */
  fullRun: boolean;
}

export const trackFilter = (b: BatchSql, col: RawBuilder<unknown>) => (b.trackId ? sql`${col} = ${b.trackId}::uuid` : sql`true`);
/** The legacy stats rows' columns (unified names) and their types, for the branches of one UNION ALL. */
const LEGACY_STATS = {
  userId: 'bigint',
  track_id: 'uuid',
  type_id: 'uuid',
  challenges: 'int',
  wins: 'int',
  rating: 'int',
  volatility: 'int',
  maxRating: 'int',
  minRating: 'int',
  globalRank: 'int',
  countryRank: 'int',
  schoolRank: 'int',
  percentile: 'float8',
  avgRank: 'float8',
  avgNumSubmissions: 'float8',
  bestRank: 'int',
  topFiveFinishes: 'int',
  topTenFinishes: 'int',
  mostRecentEventDate: 'timestamptz',
  mostRecentSubmission: 'timestamptz',
} as const;
type LegacyStatsColumn = keyof typeof LEGACY_STATS;
const legacyStats = (values: Partial<Record<LegacyStatsColumn, RawBuilder<unknown>>>) => namedColumns(LEGACY_STATS, values);

// what the branches share: the member and the mapped key; an item's own counts and dates; data-science rating fields
const key = { userId: sql`p."userId"`, track_id: sql`m.track_id`, type_id: sql`m.type_id` };
const item = {
  ...key,
  challenges: sql`i.challenges`,
  wins: sql`i.wins`,
  mostRecentEventDate: sql`i."mostRecentEventDate"`,
  mostRecentSubmission: sql`i."mostRecentSubmission"`,
};
const developRating = {
  rating: sql`i.rating`,
  volatility: sql`i.volatility`,
  maxRating: sql`i."maxRating"`,
  minRating: sql`i."minRating"`,
  globalRank: sql`i."overallRank"`,
  countryRank: sql`i."countryRank"`,
  schoolRank: sql`i."schoolRank"`,
  percentile: sql`i."overallPercentile"`,
};
// design sub-tracks landing on one key add up
const designSums = {
  challenges: sql`sum(i.challenges)::int`,
  wins: sql`sum(i.wins)::int`,
  mostRecentEventDate: sql`max(i."mostRecentEventDate")`,
  mostRecentSubmission: sql`max(i."mostRecentSubmission")`,
};
const fixedKey = (c: Catalog, k: UnifiedKey) => {
  const [track, type] = keyIds(c, k);
  return { userId: sql`p."userId"`, track_id: sql`${track}::uuid`, type_id: sql`${type}::uuid` };
};
const dataScience = {
  challenges: sql`s.challenges`,
  wins: sql`s.wins`,
  rating: sql`s.rating`,
  volatility: sql`s.volatility`,
  maxRating: sql`s."maximumRating"`,
  minRating: sql`s."minimumRating"`,
  globalRank: sql`s.rank`,
  countryRank: sql`s."countryRank"`,
  schoolRank: sql`s."schoolRank"`,
  percentile: sql`s.percentile`,
  mostRecentEventDate: sql`s."mostRecentEventDate"`,
  mostRecentSubmission: sql`s."mostRecentSubmission"`,
};
const marathon = {
  avgRank: sql`s."avgRank"`,
  avgNumSubmissions: sql`s."avgNumSubmissions"`,
  bestRank: sql`s."bestRank"`,
  topFiveFinishes: sql`s."topFiveFinishes"`,
  topTenFinishes: sql`s."topTenFinishes"`,
};

/**
 * The unified memberStats rows of the batch: legacy rows (ratings, ranks and percentiles preserved), supplemented
 * by events the legacy row never counted — completed challenges of that key from challengeResult that ended after
 * the row's mostRecentEventDate (all of them where the key has no legacy row), falling back to ChallengeWinner
 * (PLACEMENT / PASSED_REVIEW) where no result row exists.
 */
export function statsRowsQuery(b: BatchSql): RawBuilder<unknown> {
  const c = b.catalog;
  return sql`
    WITH legacy AS (
      SELECT ${legacyStats({ ...item, ...developRating })}
      FROM batch_members p
      JOIN members."memberDevelopStats" ds ON ds."userId" = p."userId"
      JOIN members."memberDevelopStatsItem" i ON i."developStatsId" = ds.id
      JOIN ${developMap(c)} AS m(name, track_id, type_id) ON m.name = i.name
      UNION ALL
      SELECT ${legacyStats({ ...key, ...designSums })}
      FROM batch_members p
      JOIN members."memberDesignStats" ds ON ds."userId" = p."userId"
      JOIN members."memberDesignStatsItem" i ON i."designStatsId" = ds.id
      JOIN ${designMap(c)} AS m(name, track_id, type_id) ON m.name = i.name
      GROUP BY p."userId", m.track_id, m.type_id
      UNION ALL
      SELECT ${legacyStats({ ...fixedKey(c, SRM_KEY), ...dataScience })}
      FROM batch_members p
      JOIN members."memberDataScienceStats" d ON d."userId" = p."userId"
      JOIN members."memberSrmStats" s ON s."dataScienceStatsId" = d.id
      UNION ALL
      SELECT ${legacyStats({ ...fixedKey(c, MARATHON_KEY), ...dataScience, ...marathon })}
      FROM batch_members p
      JOIN members."memberDataScienceStats" d ON d."userId" = p."userId"
      JOIN members."memberMarathonStats" s ON s."dataScienceStatsId" = d.id
    ),
    legacy_keyed AS (
      -- one row per key (real data has duplicate parent rows): keep the most recent
      SELECT DISTINCT ON ("userId", track_id, type_id) * FROM legacy
      ORDER BY "userId", track_id, type_id, "mostRecentEventDate" DESC NULLS LAST, challenges DESC NULLS LAST
    ),
    results AS (
      SELECT "userId", "challengeId", placement, "newRating", "trackId", "typeId", "endDate" FROM batch_results WHERE status = 'COMPLETED'
    ),
    events AS (
      SELECT r."userId", r."challengeId", r.placement = 1 AS win, r."newRating", r."endDate", r."trackId", r."typeId"
      FROM results r
      UNION ALL
      SELECT w."userId", w."challengeId", w.type = 'PLACEMENT' AND w.placement = 1, NULL::int, w."endDate", w."trackId", w."typeId"
      FROM batch_winners w
      WHERE w.status = 'COMPLETED' AND w.type IN ('PLACEMENT', 'PASSED_REVIEW')
        AND NOT EXISTS (SELECT 1 FROM batch_results r WHERE r."userId" = w."userId" AND r."challengeId" = w."challengeId")
    ),
    supplement AS (
      SELECT e."userId", k.track_id, k.type_id,
             count(DISTINCT e."challengeId")::int AS challenges,
             count(DISTINCT e."challengeId") FILTER (WHERE e.win)::int AS wins,
             (array_agg(e."newRating" ORDER BY e."endDate" DESC, e."challengeId" DESC) FILTER (WHERE e."newRating" IS NOT NULL))[1] AS rating,
             max(e."endDate") AS "mostRecentEventDate"
      FROM events e
      JOIN ${challengeKeyMap(c)} AS k(track_id_in, type_id_in, track_id, type_id) ON k.track_id_in = e."trackId" AND k.type_id_in = e."typeId"
      LEFT JOIN legacy_keyed l ON l."userId" = e."userId" AND l.track_id = k.track_id AND l.type_id = k.type_id
      -- the legacy row counted everything of its key up to its mostRecentEventDate (all of it when that is unknown)
      WHERE l."userId" IS NULL OR (l."mostRecentEventDate" IS NOT NULL AND e."endDate" > l."mostRecentEventDate")
      GROUP BY e."userId", k.track_id, k.type_id
    )
    SELECT COALESCE(l."userId", s."userId") AS "userId",
           COALESCE(l.track_id, s.track_id) AS "trackId",
           COALESCE(l.type_id, s.type_id) AS "typeId",
           COALESCE(l.challenges, 0) + COALESCE(s.challenges, 0) AS challenges,
           COALESCE(l.wins, 0) + COALESCE(s.wins, 0) AS wins,
           COALESCE(l.rating, s.rating) AS rating, l.volatility,
           COALESCE(l."maxRating", s.rating) AS "maxRating", COALESCE(l."minRating", s.rating) AS "minRating",
           l."globalRank", l."countryRank", l."schoolRank", l.percentile,
           l."avgRank", l."avgNumSubmissions", l."bestRank", l."topFiveFinishes", l."topTenFinishes",
           GREATEST(l."mostRecentEventDate", s."mostRecentEventDate") AS "mostRecentEventDate",
           l."mostRecentSubmission"
    FROM legacy_keyed l
    FULL JOIN supplement s ON s."userId" = l."userId" AND s.track_id = l.track_id AND s.type_id = l.type_id
    WHERE ${trackFilter(b, sql`COALESCE(l.track_id, s.track_id)`)}`;
}

/**
 * The unified history rows of the batch: legacy develop and data-science history (numeric challenge ids; oldRating
 * is the member's previous rating on that key), then rated completed challenges the legacy history does not hold.
 */
export function historyRowsQuery(b: BatchSql): RawBuilder<unknown> {
  const c = b.catalog;
  return sql`
    WITH legacy AS (
      SELECT p."userId", m.track_id, m.type_id, d."challengeId"::text AS "challengeId", d."challengeName",
             d."newRating", NULL::int AS placement, NULL::float8 AS percentile, d."ratingDate" AS "eventDate"
      FROM batch_members p
      JOIN members."memberHistoryStats" h ON h."userId" = p."userId"
      JOIN members."memberDevelopHistoryStats" d ON d."historyStatsId" = h.id
      JOIN ${developMap(c)} AS m(name, track_id, type_id) ON m.name = d."subTrack"
      UNION ALL
      SELECT p."userId", m.track_id, m.type_id, d."challengeId"::text, d."challengeName",
             d.rating, d.placement, d.percentile, d.date
      FROM batch_members p
      JOIN members."memberHistoryStats" h ON h."userId" = p."userId"
      JOIN members."memberDataScienceHistoryStats" d ON d."historyStatsId" = h.id
      JOIN ${dsHistoryMap(c)} AS m(name, track_id, type_id) ON m.name = d."subTrack"
    ),
    completed AS (
      SELECT r."userId", k.track_id, k.type_id, r."challengeId", r.name AS "challengeName",
             r."newRating", r.placement, NULL::float8 AS percentile, r."endDate" AS "eventDate"
      FROM batch_results r
      JOIN ${challengeKeyMap(c)} AS k(track_id_in, type_id_in, track_id, type_id) ON k.track_id_in = r."trackId" AND k.type_id_in = r."typeId"
      WHERE r.status = 'COMPLETED' AND r."endDate" IS NOT NULL AND r."newRating" IS NOT NULL
        AND NOT EXISTS (
          SELECT 1 FROM legacy l
          WHERE l."userId" = r."userId" AND l.track_id = k.track_id AND l.type_id = k.type_id AND l."challengeId" = r."legacyId"::text)
    ),
    rows AS (
      SELECT DISTINCT ON ("userId", track_id, type_id, "challengeId") *
      FROM (SELECT *, 'backfill:legacy' AS "createdBy" FROM legacy UNION ALL SELECT *, 'backfill:challenge' FROM completed) u
      ORDER BY "userId", track_id, type_id, "challengeId", "eventDate" DESC
    )
    SELECT "userId", track_id AS "trackId", type_id AS "typeId", "challengeId", "challengeName",
           LAG("newRating") OVER (PARTITION BY "userId", track_id, type_id ORDER BY "eventDate", "challengeId") AS "oldRating",
           "newRating", NULL::int AS "oldVolatility", NULL::int AS "newVolatility", placement, percentile, "eventDate", "createdBy"
    FROM rows
    WHERE ${trackFilter(b, sql`track_id`)}`;
}

/** Columns of the staged and written rows, in CSV order too. */
export const STATS_COLUMNS = [
  'userId',
  'trackId',
  'typeId',
  'challenges',
  'wins',
  'rating',
  'volatility',
  'maxRating',
  'minRating',
  'globalRank',
  'countryRank',
  'schoolRank',
  'percentile',
  'avgRank',
  'avgNumSubmissions',
  'bestRank',
  'topFiveFinishes',
  'topTenFinishes',
  'mostRecentEventDate',
  'mostRecentSubmission',
] as const;
// Ranks are relative: a batch inserts the legacy ranks of new rows, but only finalize's re-ranking updates them,
// so rows are not rewritten twice a run and readers never see a batch's ranks replaced a moment later.
export const STATS_UPDATED = STATS_COLUMNS.slice(3).filter((c) => c !== 'globalRank' && c !== 'countryRank');

export const HISTORY_COLUMNS = [
  'userId',
  'trackId',
  'typeId',
  'challengeId',
  'challengeName',
  'oldRating',
  'newRating',
  'oldVolatility',
  'newVolatility',
  'placement',
  'percentile',
  'eventDate',
  'createdBy',
] as const;
export const HISTORY_UPDATED = HISTORY_COLUMNS.slice(4);

/** Stages the batch's computed rows in temp tables (batch_stats, batch_history): adjusted, exported or upserted from there. */
export async function stageStats(db: Kysely<any>, b: BatchSql): Promise<number> {
  const r = await sql`CREATE TEMP TABLE batch_stats ON COMMIT DROP AS ${statsRowsQuery(b)}`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

export async function stageHistory(db: Kysely<any>, b: BatchSql): Promise<number> {
  const r = await sql`CREATE TEMP TABLE batch_history ON COMMIT DROP AS ${historyRowsQuery(b)}`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}
