import { sql, type Kysely, type RawBuilder } from 'kysely';
import { challengeKey, DEVELOP_ITEM_KEYS, designItemKey, MARATHON_KEY, SRM_KEY, type UnifiedKey } from '../../domain/mapping';
import { DESIGN_SUBTRACKS, TRACKS, TYPES, type TrackName, type TypeName } from '../../domain/catalog';

/**
 * Phase A as set-based SQL over one batch of members. Every statement reads the batch from temp tables filled
 * first — batch_members, and the members' results and winner rows with their challenges (batch_results,
 * batch_winners: activities/sql/batch-sources.ts) — so the same SQL serves a keyset range, explicit ids or, for the
 * benchmark's limit, every member at once, whether the three databases are one or not.
 */

/** Ids of the catalogue as the challenges database has them (resolved by name, never assumed). */
export interface Catalog {
  tracks: Array<{ id: string; track: TrackName }>;
  types: Array<{ id: string; name: TypeName }>;
}

export interface BatchSql {
  catalog: Catalog;
  /** only this track's rows are written (and nothing else is touched) */
  trackId?: string;
  /** the run computes all of a member's rows: rows it no longer produces are removed */
  fullRun: boolean;
}

export function keyIds(catalog: Catalog, key: UnifiedKey): [string, string] {
  const track = catalog.tracks.find((t) => t.track === key.track);
  const type = catalog.types.find((t) => t.name === key.type);
  if (!track || !type) throw new Error(`the challenges catalogue lacks ${key.track}/${key.type}`);
  return [track.id, type.id];
}

/** VALUES (name, trackId, typeId) for legacy item names → unified key. */
export function itemMap(catalog: Catalog, entries: Array<[string, UnifiedKey]>): RawBuilder<unknown> {
  return sql`(VALUES ${sql.join(entries.map(([name, key]) => {
    const [t, y] = keyIds(catalog, key);
    return sql`(${name}::text, ${t}::uuid, ${y}::uuid)`;
  }))})`;
}

export const developMap = (c: Catalog) => itemMap(c, Object.entries(DEVELOP_ITEM_KEYS));
export const designMap = (c: Catalog) => itemMap(c, Object.keys(DESIGN_SUBTRACKS).map((n) => [n, designItemKey(n)]));
export const dsHistoryMap = (c: Catalog) => itemMap(c, [['SRM', SRM_KEY], ['MARATHON_MATCH', MARATHON_KEY]]);

/** Challenge (trackId, typeId) → unified key (domain/mapping: Marathon Matches go to DATA_SCIENCE). */
function challengeKeyMap(c: Catalog): RawBuilder<unknown> {
  const rows = c.tracks.flatMap((t) =>
    c.types.map((y) => {
      const [track, type] = keyIds(c, challengeKey(t.track, y.name));
      return sql`(${t.id}::uuid, ${y.id}::uuid, ${track}::uuid, ${type}::uuid)`;
    }),
  );
  return sql`(VALUES ${sql.join(rows)})`;
}

const trackFilter = (b: BatchSql, col: RawBuilder<unknown>) => (b.trackId ? sql`${col} = ${b.trackId}::uuid` : sql`true`);

/** Fills pg_temp.batch_members (userId of members present in `member`) for a scope; returns missing ids too. */
export async function loadBatchMembers(
  db: Kysely<any>,
  scope: { range: readonly [number, number] } | { userIds: number[] },
  sameDb = true,
): Promise<{ members: number; missing: number[] }> {
  await sql`CREATE TEMP TABLE IF NOT EXISTS batch_members ("userId" BIGINT PRIMARY KEY) ON COMMIT DROP`.execute(db);
  const inScope = (col: RawBuilder<unknown>) =>
    'range' in scope ? sql`${col} BETWEEN ${scope.range[0]}::bigint AND ${scope.range[1]}::bigint` : sql`${col} = ANY(${scope.userIds}::bigint[])`;
  const inserted = await sql`
    INSERT INTO batch_members SELECT "userId" FROM members."member" WHERE ${inScope(sql`"userId"`)}`.execute(db);
  // ids asked for, or referenced by legacy stats or ChallengeWinner, without a member row: skipped, reported
  // (challengeResult's TEXT ids cannot be range-scanned by number; its members show up through the others)
  const requested = 'userIds' in scope ? scope.userIds : [];
  const missing = await sql<{ userId: number }>`
    SELECT DISTINCT x."userId" FROM (
      SELECT unnest(${requested}::bigint[]) AS "userId"
      UNION ALL SELECT "userId" FROM challenges."ChallengeWinner" WHERE ${sameDb ? inScope(sql`"userId"`) : sql`false`}
      UNION ALL SELECT "userId" FROM members."memberDevelopStats" WHERE ${inScope(sql`"userId"`)}
      UNION ALL SELECT "userId" FROM members."memberDesignStats" WHERE ${inScope(sql`"userId"`)}
      UNION ALL SELECT "userId" FROM members."memberDataScienceStats" WHERE ${inScope(sql`"userId"`)}
      UNION ALL SELECT "userId" FROM members."memberHistoryStats" WHERE ${inScope(sql`"userId"`)}
    ) x
    WHERE NOT EXISTS (SELECT 1 FROM batch_members b WHERE b."userId" = x."userId")
    ORDER BY 1`.execute(db);
  await sql`ANALYZE batch_members`.execute(db);
  return { members: Number(inserted.numAffectedRows ?? 0), missing: missing.rows.map((r) => r.userId) };
}

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
      SELECT p."userId", m.track_id, m.type_id, i.challenges, i.wins, i.rating, i.volatility, i."maxRating", i."minRating",
             i."overallRank" AS "globalRank", i."countryRank", i."schoolRank", i."overallPercentile" AS percentile,
             NULL::float8 AS "avgRank", NULL::float8 AS "avgNumSubmissions", NULL::int AS "bestRank",
             NULL::int AS "topFiveFinishes", NULL::int AS "topTenFinishes",
             i."mostRecentEventDate", i."mostRecentSubmission"
      FROM batch_members p
      JOIN members."memberDevelopStats" ds ON ds."userId" = p."userId"
      JOIN members."memberDevelopStatsItem" i ON i."developStatsId" = ds.id
      JOIN ${developMap(c)} AS m(name, track_id, type_id) ON m.name = i.name
      UNION ALL
      SELECT p."userId", m.track_id, m.type_id, sum(i.challenges)::int, sum(i.wins)::int, NULL, NULL, NULL, NULL,
             NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
             max(i."mostRecentEventDate"), max(i."mostRecentSubmission")
      FROM batch_members p
      JOIN members."memberDesignStats" ds ON ds."userId" = p."userId"
      JOIN members."memberDesignStatsItem" i ON i."designStatsId" = ds.id
      JOIN ${designMap(c)} AS m(name, track_id, type_id) ON m.name = i.name
      GROUP BY p."userId", m.track_id, m.type_id
      UNION ALL
      SELECT p."userId", ${keyIds(c, SRM_KEY)[0]}::uuid, ${keyIds(c, SRM_KEY)[1]}::uuid, s.challenges, s.wins, s.rating, s.volatility,
             s."maximumRating", s."minimumRating", s.rank, s."countryRank", s."schoolRank", s.percentile,
             NULL, NULL, NULL, NULL, NULL, s."mostRecentEventDate", s."mostRecentSubmission"
      FROM batch_members p
      JOIN members."memberDataScienceStats" d ON d."userId" = p."userId"
      JOIN members."memberSrmStats" s ON s."dataScienceStatsId" = d.id
      UNION ALL
      SELECT p."userId", ${keyIds(c, MARATHON_KEY)[0]}::uuid, ${keyIds(c, MARATHON_KEY)[1]}::uuid, s.challenges, s.wins, s.rating, s.volatility,
             s."maximumRating", s."minimumRating", s.rank, s."countryRank", s."schoolRank", s.percentile,
             s."avgRank", s."avgNumSubmissions", s."bestRank", s."topFiveFinishes", s."topTenFinishes",
             s."mostRecentEventDate", s."mostRecentSubmission"
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
  'userId', 'trackId', 'typeId', 'challenges', 'wins', 'rating', 'volatility', 'maxRating', 'minRating', 'globalRank',
  'countryRank', 'schoolRank', 'percentile', 'avgRank', 'avgNumSubmissions', 'bestRank', 'topFiveFinishes',
  'topTenFinishes', 'mostRecentEventDate', 'mostRecentSubmission',
] as const;
// Ranks are relative: a batch inserts the legacy ranks of new rows, but only finalize's re-ranking updates them,
// so rows are not rewritten twice a run and readers never see a batch's ranks replaced a moment later.
const STATS_UPDATED = STATS_COLUMNS.slice(3).filter((c) => c !== 'globalRank' && c !== 'countryRank');

export const HISTORY_COLUMNS = [
  'userId', 'trackId', 'typeId', 'challengeId', 'challengeName', 'oldRating', 'newRating', 'oldVolatility', 'newVolatility', 'placement',
  'percentile', 'eventDate', 'createdBy',
] as const;
const HISTORY_UPDATED = HISTORY_COLUMNS.slice(4);

export const ids = (cols: readonly string[]) => sql.join(cols.map((c) => sql.id(c)));
const excluded = (cols: readonly string[]) => sql.join(cols.map((c) => sql`${sql.id(c)} = EXCLUDED.${sql.id(c)}`));
const changed = (table: string, cols: readonly string[]) =>
  sql`(${sql.join(cols.map((c) => sql`${sql.table(table)}.${sql.id(c)}`))}) IS DISTINCT FROM (${sql.join(cols.map((c) => sql`EXCLUDED.${sql.id(c)}`))})`;

/** Stages the batch's computed rows in temp tables (batch_stats, batch_history): adjusted, exported or upserted from there. */
export async function stageStats(db: Kysely<any>, b: BatchSql): Promise<number> {
  const r = await sql`CREATE TEMP TABLE batch_stats ON COMMIT DROP AS ${statsRowsQuery(b)}`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

export async function stageHistory(db: Kysely<any>, b: BatchSql): Promise<number> {
  const r = await sql`CREATE TEMP TABLE batch_history ON COMMIT DROP AS ${historyRowsQuery(b)}`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

export interface Written {
  written: number;
  stale: number;
  perMember: Map<number, number>;
}

function perMember(rows: Array<{ userId: number }>): Map<number, number> {
  const m = new Map<number, number>();
  for (const row of rows) m.set(row.userId, (m.get(row.userId) ?? 0) + 1);
  return m;
}

interface StagedTarget {
  table: string;
  staged: string;
  columns: readonly string[];
  updated: readonly string[];
  /** the unique key: conflict target, and what makes a row stale when the staged rows lack it */
  key: readonly string[];
  /** rows a full run keeps even when the staged rows lack them */
  keep?: RawBuilder<unknown>;
}

/** Upserts staged rows (only rows whose values change are rewritten); on full runs removes the batch's stale rows. */
async function upsertStaged(db: Kysely<any>, b: BatchSql, t: StagedTarget): Promise<Written> {
  const r = await sql<{ userId: number }>`
    INSERT INTO ${sql.table(t.table)} (${ids(t.columns)})
    SELECT ${ids(t.columns)} FROM ${sql.table(t.staged)}
    ON CONFLICT (${ids(t.key)}) DO UPDATE SET ${excluded(t.updated)}, "updatedAt" = now()
    WHERE ${changed(t.table, t.updated)}
    RETURNING "userId"`.execute(db);
  let stale = 0;
  if (b.fullRun) {
    const d = await sql`
      DELETE FROM ${sql.table(t.table)} x
      USING batch_members p
      WHERE x."userId" = p."userId" AND NOT (${t.keep ?? sql`false`})
        AND NOT EXISTS (SELECT 1 FROM ${sql.table(t.staged)} s WHERE ${sql.join(t.key.map((k) => sql`s.${sql.id(k)} = x.${sql.id(k)}`), sql` AND `)})`.execute(db);
    stale = Number(d.numAffectedRows ?? 0);
  }
  return { written: r.rows.length, stale, perMember: perMember(r.rows) };
}

export function upsertStats(db: Kysely<any>, b: BatchSql): Promise<Written> {
  return upsertStaged(db, b, {
    table: 'members.memberStats',
    staged: 'batch_stats',
    columns: STATS_COLUMNS,
    updated: STATS_UPDATED,
    key: ['userId', 'trackId', 'typeId'],
  });
}

/**
 * Upserts staged history (a full run never removes a rerate's canonical rows: the rerate corrects those itself),
 * then resets mostRecent: clear first, then set the latest row per (user, track, type) — the partial unique index
 * admits no other order.
 */
export async function upsertHistory(db: Kysely<any>, b: BatchSql): Promise<Written> {
  const w = await upsertStaged(db, b, {
    table: 'members.memberStatsHistory',
    staged: 'batch_history',
    columns: HISTORY_COLUMNS,
    updated: HISTORY_UPDATED,
    key: ['userId', 'trackId', 'typeId', 'challengeId'],
    keep: sql`x."createdBy" = 'rerate'`,
  });
  await resetMostRecent(db, b);
  return w;
}

/** Exactly one mostRecent row per (user, track, type) of the batch: the latest eventDate (ties → challengeId). */
export async function resetMostRecent(db: Kysely<any>, b: Pick<BatchSql, 'trackId'>): Promise<void> {
  const scope = trackFilter(b as BatchSql, sql`h."trackId"`);
  await sql`
    CREATE TEMP TABLE batch_latest ON COMMIT DROP AS
    SELECT DISTINCT ON (h."userId", h."trackId", h."typeId") h.id
    FROM batch_members q JOIN members."memberStatsHistory" h ON h."userId" = q."userId"
    WHERE ${scope}
    ORDER BY h."userId", h."trackId", h."typeId", h."eventDate" DESC, h."challengeId" DESC`.execute(db);
  // clear first, then set: the partial unique index is checked row by row
  await sql`
    UPDATE members."memberStatsHistory" h SET "mostRecent" = false
    FROM batch_members q
    WHERE h."userId" = q."userId" AND h."mostRecent" AND ${scope}
      AND NOT EXISTS (SELECT 1 FROM batch_latest l WHERE l.id = h.id)`.execute(db);
  await sql`
    UPDATE members."memberStatsHistory" h SET "mostRecent" = true
    FROM batch_latest l WHERE h.id = l.id AND NOT h."mostRecent"`.execute(db);
  await sql`DROP TABLE batch_latest`.execute(db);
}

/** Unified rows of members that are no longer in `member` (deleted since an earlier backfill). */
export async function removeOrphans(db: Kysely<any>): Promise<number> {
  let n = 0;
  for (const table of ['memberStats', 'memberStatsHistory', 'memberMaxRating']) {
    const r = await sql`
      DELETE FROM ${sql.table(`members.${table}`)} x
      WHERE NOT EXISTS (SELECT 1 FROM members."member" m WHERE m."userId" = x."userId")`.execute(db);
    n += Number(r.numAffectedRows ?? 0);
  }
  return n;
}

/** The catalogue as the challenges database has it; every name we map to must resolve. */
export async function loadCatalog(challenges: Kysely<any>): Promise<Catalog> {
  const tracks = await sql<{ id: string; track: TrackName }>`SELECT id::text AS id, track FROM challenges."ChallengeTrack"`.execute(challenges);
  const types = await sql<{ id: string; name: TypeName }>`SELECT id::text AS id, name FROM challenges."ChallengeType"`.execute(challenges);
  const missing = [
    ...TRACKS.filter((t) => !tracks.rows.some((r) => r.track === t.track)).map((t) => `track ${t.track}`),
    ...TYPES.filter((t) => !types.rows.some((r) => r.name === t.name)).map((t) => `type ${t.name}`),
  ];
  if (missing.length > 0) throw new Error(`the challenges database (CHALLENGES_DB_URL) lacks ${missing.join(', ')}`);
  return { tracks: tracks.rows, types: types.rows };
}
