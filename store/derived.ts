import { sql, type Kysely, type RawBuilder } from 'kysely';
import { RATING_COLOR_BANDS, type Catalog } from '../domain/catalog';
import { ofBatch } from './sql';

/**
 * Data derived from memberStats ratings: ranks and memberMaxRating. Set-based; rows are only rewritten when a value
 * changes, so re-running is cheap and idempotent. Rules: domain/rating/ranks.ts (the pure reference tests use).
 */

/** Which members a refresh covers: a keyset range of userId (inclusive), explicit ids, or a backfill batch's members. */
export type MemberScope = { fromUserId: number; toUserId: number } | { userIds: number[] } | { batchMembers: true };

function inScope(column: RawBuilder<unknown>, scope: MemberScope): RawBuilder<unknown> {
  if ('batchMembers' in scope) return ofBatch(column);
  return 'userIds' in scope
    ? sql`${column} = ANY(${scope.userIds}::bigint[])`
    : sql`${column} BETWEEN ${scope.fromUserId} AND ${scope.toUserId}`;
}

/** A blank-aware coalesce matching rankCountry(): competition country, else home country, else country. */
export const rankCountry = sql`COALESCE(
  CASE WHEN btrim(m."competitionCountryCode") <> '' THEN m."competitionCountryCode" END,
  CASE WHEN btrim(m."homeCountryCode") <> '' THEN m."homeCountryCode" END,
  CASE WHEN btrim(m.country) <> '' THEN m.country END)`;

/**
 * Held (to the end of the transaction) by whatever rewrites a member's memberMaxRating from their stats rows: two
 * streams finalizing at once would each compute it from a read without the other's uncommitted ratings.
 */
export async function lockDerived(tx: Kysely<any>): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtext('cutover:derived'))`.execute(tx);
}

export interface Partition {
  trackId: string;
  typeId: string;
}

/** Partitions whose ranks a rerate recomputed (migrations/0009): ours from then on. */
export async function rerankedPartitions(db: Kysely<any>): Promise<Partition[]> {
  const r = await sql<Partition>`SELECT "trackId"::text AS "trackId", "typeId"::text AS "typeId" FROM platform."rerankedPartition"`.execute(
    db,
  );
  return r.rows;
}

/** A rerate re-ranked this partition: legacy's ranks are not brought back by a later backfill. */
export async function markReranked(db: Kysely<any>, p: Partition, by: string): Promise<void> {
  await sql`
    INSERT INTO platform."rerankedPartition" ("trackId", "typeId", "rerankedBy") VALUES (${p.trackId}::uuid, ${p.typeId}::uuid, ${by})
    ON CONFLICT DO NOTHING`.execute(db);
}

/**
 * globalRank and countryRank: RANK() by rating within (trackId, typeId, isPrivate[, country]). Ranks are relative,
 * so a changed rating re-ranks its whole partition: `partitions` limits work to the (trackId, typeId) pairs that
 * changed; omitted → every partition. Returns the number of rows whose rank changed.
 */
export async function refreshRanks(db: Kysely<any>, partitions?: Array<{ trackId: string; typeId: string }>): Promise<number> {
  const where =
    partitions === undefined
      ? sql`true`
      : partitions.length === 0
        ? sql`false`
        : sql`(s."trackId", s."typeId") IN (${sql.join(partitions.map((p) => sql`(${p.trackId}::uuid, ${p.typeId}::uuid)`))})`;
  // the partition's sorts in memory (two over the whole partition: spilled to disk at the default work_mem on large)
  const inTx = async (tx: Kysely<any>) => {
    await sql`SELECT set_config('work_mem', '64MB', true)`.execute(tx);
    // rank-only updates of computed partitions are left out of parity's change capture (migrations/0014)
    await sql`SELECT set_config('cutover.capture', 'ranks-only', true)`.execute(tx);
    const changed = await rerank(tx, where);
    await sql`SELECT set_config('cutover.capture', '', true)`.execute(tx);
    return changed;
  };
  return db.isTransaction ? inTx(db) : db.transaction().execute(inTx);
}

async function rerank(db: Kysely<any>, where: RawBuilder<unknown>): Promise<number> {
  const r = await sql`
    WITH base AS (
      SELECT s.id, s."trackId", s."typeId", s."isPrivate", s.rating, ${rankCountry} AS country
      FROM members."memberStats" s
      LEFT JOIN members."member" m ON m."userId" = s."userId"
      WHERE ${where}
    ), ranked AS (
      SELECT id,
        CASE WHEN rating IS NOT NULL THEN
          RANK() OVER (PARTITION BY "trackId", "typeId", "isPrivate", rating IS NULL ORDER BY rating DESC) END AS g,
        CASE WHEN rating IS NOT NULL AND country IS NOT NULL THEN
          RANK() OVER (PARTITION BY "trackId", "typeId", "isPrivate", country, rating IS NULL OR country IS NULL ORDER BY rating DESC) END AS c
      FROM base
    )
    UPDATE members."memberStats" s SET "globalRank" = r.g, "countryRank" = r.c, "updatedAt" = now()
    FROM ranked r
    WHERE s.id = r.id AND (s."globalRank" IS DISTINCT FROM r.g OR s."countryRank" IS DISTINCT FROM r.c)`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

const colorCase = (rating: RawBuilder<unknown>) =>
  sql`CASE ${sql.join(
    RATING_COLOR_BANDS.map((b) => (b.below === null ? sql`ELSE ${b.color}` : sql`WHEN ${rating} < ${b.below} THEN ${b.color}`)),
    sql` `,
  )} END`;

const names = (rows: Array<{ id: string; name: string }>) =>
  sql`(VALUES ${sql.join(rows.map((r) => sql`(${r.id}::uuid, ${r.name}::text)`))})`;

/**
 * memberMaxRating for every member in scope: the highest current rating across their public memberStats rows (ties →
 * later mostRecentEventDate, then trackId/typeId), with its colour; members in scope without any rating lose their
 * row so nothing stale survives. Track/type names come from the challenges catalogue (another database).
 */
export async function refreshMaxRating(
  db: Kysely<any>,
  catalog: Catalog,
  scope: MemberScope,
): Promise<{ written: number; removed: number }> {
  const upsert = await sql`
    WITH best AS (
      SELECT DISTINCT ON (s."userId") s."userId", s.rating, s."trackId", s."typeId"
      FROM members."memberStats" s
      WHERE ${inScope(sql`s."userId"`, scope)} AND s.rating IS NOT NULL AND NOT s."isPrivate"
      ORDER BY s."userId", s.rating DESC, s."mostRecentEventDate" DESC NULLS LAST, s."trackId", s."typeId"
    )
    INSERT INTO members."memberMaxRating" ("userId", rating, track, "subTrack", "ratingColor", "updatedAt")
    SELECT b."userId", b.rating, COALESCE(tr.name, b."trackId"::text), COALESCE(ty.name, b."typeId"::text), ${colorCase(sql`b.rating`)}, now()
    FROM best b
    LEFT JOIN ${names(catalog.tracks.map((t) => ({ id: t.id, name: t.track })))} AS tr(id, name) ON tr.id = b."trackId"
    LEFT JOIN ${names(catalog.types)} AS ty(id, name) ON ty.id = b."typeId"
    ON CONFLICT ("userId") DO UPDATE SET
      rating = EXCLUDED.rating, track = EXCLUDED.track, "subTrack" = EXCLUDED."subTrack",
      "ratingColor" = EXCLUDED."ratingColor", "updatedAt" = now()
    WHERE (members."memberMaxRating".rating, members."memberMaxRating".track, members."memberMaxRating"."subTrack", members."memberMaxRating"."ratingColor")
      IS DISTINCT FROM (EXCLUDED.rating, EXCLUDED.track, EXCLUDED."subTrack", EXCLUDED."ratingColor")`.execute(db);
  const removed = await sql`
    DELETE FROM members."memberMaxRating" x
    WHERE ${inScope(sql`x."userId"`, scope)}
      AND NOT EXISTS (SELECT 1 FROM members."memberStats" s WHERE s."userId" = x."userId" AND s.rating IS NOT NULL AND NOT s."isPrivate")`.execute(
    db,
  );
  return { written: Number(upsert.numAffectedRows ?? 0), removed: Number(removed.numAffectedRows ?? 0) };
}
