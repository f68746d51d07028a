import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Catalog } from '../../domain/catalog';
import { DEVELOP_RATED_KEY, MARATHON_KEY, RERANKED_KEYS, SRM_KEY } from '../../domain/mapping';
import { developMap, dsHistoryMap, keyIds } from '../catalog';
import { rankCountry, rerankedPartitions, type Partition } from '../derived';
import { legacyStatsRelation } from '../legacy-stats';
import { batchRows } from '../sql';

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
  /** only this type's rows are written */
  typeId?: string;
  /** the run computes all of a member's rows: rows it no longer produces are removed */
  fullRun: boolean;
  /** newly rated rows of re-ranked partitions get their rank among the stored ratings (BatchPlan.provisionalRanks) */
  provisionalRanks?: boolean;
}

/** The run's key filter (--track-id, --type-id) over a row's track and type columns. */
export const keyFilter = (b: Pick<BatchSql, 'trackId' | 'typeId'>, track: RawBuilder<unknown>, type: RawBuilder<unknown>) =>
  sql`${b.trackId ? sql`${track} = ${b.trackId}::uuid` : sql`true`} AND ${b.typeId ? sql`${type} = ${b.typeId}::uuid` : sql`true`}`;

/**
 * The unified memberStats rows of the batch: legacy rows (ratings, ranks and percentiles preserved), supplemented
 * by events the legacy row never counted — completed challenges of that key from challengeResult that ended after
 * the row's mostRecentEventDate (all of them where the key has no legacy row), falling back to ChallengeWinner
 * (PLACEMENT / PASSED_REVIEW) where no result row exists.
 */
export function statsRowsQuery(b: BatchSql): RawBuilder<unknown> {
  const c = b.catalog;
  return sql`
    WITH legacy_keyed AS (${legacyStatsRelation(c, sql`SELECT "userId" FROM batch_members`)}),
    results AS (
      SELECT "userId", "challengeId", placement, "newRating", track_id, type_id, "endDate" FROM batch_results WHERE status = 'COMPLETED'
    ),
    events AS (
      SELECT r."userId", r."challengeId", r.placement = 1 AS win, r."newRating", r."endDate", r.track_id, r.type_id
      FROM results r
      UNION ALL
      SELECT w."userId", w."challengeId", w.type = 'PLACEMENT' AND w.placement = 1, NULL::int, w."endDate", w.track_id, w.type_id
      FROM batch_winners w
      -- (batch_winners holds only challenges the member has no result row for)
      WHERE w.status = 'COMPLETED' AND w.type IN ('PLACEMENT', 'PASSED_REVIEW')
    ),
    supplement AS (
      SELECT e."userId", e.track_id, e.type_id,
             count(DISTINCT e."challengeId")::int AS challenges,
             count(DISTINCT e."challengeId") FILTER (WHERE e.win)::int AS wins,
             (array_agg(e."newRating" ORDER BY e."endDate" DESC, e."challengeId" DESC) FILTER (WHERE e."newRating" IS NOT NULL))[1] AS rating,
             max(e."endDate") AS "mostRecentEventDate"
      FROM events e
      LEFT JOIN legacy_keyed l ON l."userId" = e."userId" AND l.track_id = e.track_id AND l.type_id = e.type_id
      -- the legacy row counted everything of its key up to its mostRecentEventDate (all of it when that is unknown)
      WHERE l."userId" IS NULL OR (l."mostRecentEventDate" IS NOT NULL AND e."endDate" > l."mostRecentEventDate")
      GROUP BY e."userId", e.track_id, e.type_id
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
    WHERE ${keyFilter(b, sql`COALESCE(l.track_id, s.track_id)`, sql`COALESCE(l.type_id, s.type_id)`)}`;
}

/**
 * The unified history rows of the batch: legacy develop and data-science history (numeric challenge ids; oldRating
 * is the member's previous rating on that key), then rated completed challenges the legacy history does not hold.
 */
/** The rating streams' keys (Development, Marathon Match, SRM): where a history row can carry a rating. */
const streamKeys = (c: Catalog) =>
  sql.join([DEVELOP_RATED_KEY, MARATHON_KEY, SRM_KEY].map((k) => keyIds(c, k)).map(([t, y]) => sql`(${t}::uuid, ${y}::uuid)`));

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
    -- completed challenges the legacy history lacks: rated ones (an outcome recorded in challengeResult), and on the
    -- rating streams also the explicitly unrated ones, from results or else winners, with null ratings (parity
    -- warns about those). Rated ones without an outcome are the rating continuation's (develop-replay.ts).
    completed AS (
      SELECT r."userId", r.track_id, r.type_id, r."challengeId", r.name AS "challengeName",
             r."newRating", r.placement, NULL::float8 AS percentile, r."endDate" AS "eventDate"
      FROM batch_results r
      WHERE r.status = 'COMPLETED' AND r."endDate" IS NOT NULL
        AND (r."newRating" IS NOT NULL OR (r.unrated AND (r.track_id, r.type_id) IN (${streamKeys(c)})))
        AND NOT EXISTS (
          SELECT 1 FROM legacy l
          WHERE l."userId" = r."userId" AND l.track_id = r.track_id AND l.type_id = r.type_id AND l."challengeId" = r."legacyId"::text)
      UNION ALL
      SELECT w."userId", w.track_id, w.type_id, w."challengeId", w.name, NULL::int, w.placement, NULL::float8, w."endDate"
      FROM batch_winners w
      WHERE w.status = 'COMPLETED' AND w."endDate" IS NOT NULL AND w.unrated AND (w.track_id, w.type_id) IN (${streamKeys(c)})
        AND NOT EXISTS (
          SELECT 1 FROM legacy l
          WHERE l."userId" = w."userId" AND l.track_id = w.track_id AND l.type_id = w.type_id AND l."challengeId" = w."legacyId"::text)
    ),
    rows AS (
      SELECT DISTINCT ON ("userId", track_id, type_id, "challengeId") *
      FROM (SELECT *, 'backfill:legacy' AS "createdBy" FROM legacy UNION ALL SELECT *, 'backfill:challenge' FROM completed) u
      WHERE ${keyFilter(b, sql`track_id`, sql`type_id`)}
      ORDER BY "userId", track_id, type_id, "challengeId", "eventDate" DESC
    )
    -- oldRating: the member's previous rating on the key (unrated rows in between do not break the chain)
    SELECT "userId", track_id AS "trackId", type_id AS "typeId", "challengeId", "challengeName",
           LAG("newRating") OVER (PARTITION BY "userId", track_id, type_id ORDER BY "eventDate", "challengeId") AS "oldRating",
           "newRating", NULL::int AS "oldVolatility", NULL::int AS "newVolatility", placement, percentile, "eventDate", "createdBy"
    FROM rows WHERE "newRating" IS NOT NULL
    UNION ALL
    SELECT "userId", track_id, type_id, "challengeId", "challengeName", NULL::int, NULL::int, NULL::int, NULL::int,
           placement, percentile, "eventDate", "createdBy"
    FROM rows WHERE "newRating" IS NULL`;
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
// Every column but the key is written; ranks of the partitions we re-rank (RERANKED_KEYS) are staged as stored
// (carryComputedRanks), so only finalize's re-ranking changes them and a second run writes nothing.
export const STATS_UPDATED = STATS_COLUMNS.slice(3);

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
  // every later statement joins the staged rows: unanalyzed, they look like one row, and the planner loops over
  // the batch's stored rows once per staged row
  await sql`ANALYZE batch_stats`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

export async function stageHistory(db: Kysely<any>, b: BatchSql): Promise<number> {
  const r = await sql`CREATE TEMP TABLE batch_history ON COMMIT DROP AS ${historyRowsQuery(b)}`.execute(db);
  await sql`ANALYZE batch_history`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

/**
 * In the partitions we re-rank, the staged rows keep the ranks already stored (finalize recomputes them once for
 * the run); elsewhere they carry legacy's ranks, which the backfill preserves.
 */
export async function carryComputedRanks(db: Kysely<any>, b: BatchSql): Promise<void> {
  const partitions = await computedRankPartitions(db, b.catalog);
  await sql`
    UPDATE batch_stats s SET "globalRank" = u."globalRank", "countryRank" = u."countryRank"
    FROM ${batchRows('members.memberStats')} u
    WHERE u."userId" = s."userId" AND u."trackId" = s."trackId" AND u."typeId" = s."typeId"
      AND (s."trackId", s."typeId") IN (${sql.join(partitions.map((p) => sql`(${p.trackId}::uuid, ${p.typeId}::uuid)`))})`.execute(db);
  if (b.provisionalRanks) await rankNewlyRated(db, partitions);
}

/**
 * A refresh's rows that carry a rating but no rank (a member's first rated event of the key): the rank RANK() gives
 * them among the stored ratings now (1 + the members rated higher in their partition and, for countryRank, country),
 * so the row is complete at once. The members below shift by one only at the next re-ranking (the sequencer's after
 * it rates, or a backfill's finalize): until then a refresh under live traffic left a rated row without a rank,
 * which parity reports. The partition's rated rows are read once, each joined to its member's country once: a
 * count per staged row, with the country looked up per higher-rated row, took seconds on a large platform and
 * held the refresh's locks meanwhile.
 */
async function rankNewlyRated(db: Kysely<any>, partitions: Partition[]): Promise<void> {
  const inPartitions = sql`(s."trackId", s."typeId") IN (${sql.join(partitions.map((p) => sql`(${p.trackId}::uuid, ${p.typeId}::uuid)`))})`;
  const waiting = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM batch_stats s WHERE s.rating IS NOT NULL AND s."globalRank" IS NULL AND ${inPartitions}`.execute(db);
  if (waiting.rows[0]!.n === 0) return;
  await sql`
    WITH need AS MATERIALIZED (
      SELECT s."userId", s."trackId", s."typeId", s.rating, COALESCE(stored."isPrivate", false) AS "isPrivate",
             (SELECT ${rankCountry} FROM members."member" m WHERE m."userId" = s."userId") AS country
      FROM batch_stats s
      LEFT JOIN members."memberStats" stored ON stored."userId" = s."userId" AND stored."trackId" = s."trackId" AND stored."typeId" = s."typeId"
      WHERE s.rating IS NOT NULL AND s."globalRank" IS NULL AND ${inPartitions}
    ), higher AS (
      SELECT n."userId", n."trackId", n."typeId", n.country,
             count(u."userId") AS global, count(u."userId") FILTER (WHERE ${rankCountry} = n.country) AS local
      FROM need n
      LEFT JOIN members."memberStats" u ON u."trackId" = n."trackId" AND u."typeId" = n."typeId" AND u."isPrivate" = n."isPrivate"
        AND u.rating IS NOT NULL AND u.rating > n.rating AND u."userId" <> n."userId"
      LEFT JOIN members."member" m ON m."userId" = u."userId"
      GROUP BY n."userId", n."trackId", n."typeId", n.country
    )
    UPDATE batch_stats s
    SET "globalRank" = 1 + h.global, "countryRank" = CASE WHEN h.country IS NULL THEN NULL ELSE 1 + h.local END
    FROM higher h
    WHERE h."userId" = s."userId" AND h."trackId" = s."trackId" AND h."typeId" = s."typeId"`.execute(db);
}

/** Partitions whose ranks we compute: always RERANKED_KEYS, and any a rerate has re-ranked since (store/derived.ts). */
export async function computedRankPartitions(db: Kysely<any>, catalog: Catalog): Promise<Partition[]> {
  const out = new Map<string, Partition>();
  for (const [trackId, typeId] of RERANKED_KEYS.map((k) => keyIds(catalog, k))) out.set(`${trackId} ${typeId}`, { trackId, typeId });
  for (const p of await rerankedPartitions(db)) out.set(`${p.trackId} ${p.typeId}`, p);
  return [...out.values()];
}
