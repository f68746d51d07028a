import { sql, type Kysely } from 'kysely';
import type { Catalog } from '../../domain/catalog';
import { FINALIZE_MEMBERS } from '../../domain/limits';
import type { HistoryRow } from '../../domain/rating/replay';
import { RERATE_CREATED_BY, STREAM_KEY, type Stream } from '../../domain/rerate';
import { keyIds } from '../catalog';
import { ranksLeftToBackfill } from '../backfill/ranks';
import { lockDerived, markReranked, refreshMaxRating, refreshRanks } from '../derived';
import type { StreamChallenge } from '../rated-events';

/**
 * Writes a rerate's rows into the unified history of its stream, set-based, only where something changes (a
 * second run writes nothing). Development: the event's row is rewritten in place, whether it carries the
 * challenge's UUID or its legacy numeric id. Marathon Match: the canonical UUID row is written; a numeric legacy
 * row of the same round stays for dedupe (D5) to remove. Rows written carry the stream's signature.
 */
export async function writeRerateRows(
  tx: Kysely<any>,
  catalog: Catalog,
  stream: Stream,
  rows: readonly HistoryRow[],
  challenges: ReadonlyMap<string, StreamChallenge>,
): Promise<number> {
  if (rows.length === 0) return 0;
  await sql`CREATE TEMP TABLE rerate_rows ON COMMIT DROP AS ${rowsTable(stream, rows, challenges)}`.execute(tx);
  return applyStagedRows(tx, catalog, stream);
}

/** A rerate's rows as a table (legacyId: the Development row may carry the challenge's legacy numeric id). */
export function rowsTable(stream: Stream, rows: readonly HistoryRow[], challenges: ReadonlyMap<string, StreamChallenge>) {
  const info = (h: HistoryRow) => challenges.get(h.challengeId);
  return sql`
    SELECT * FROM unnest(
      ${rows.map((h) => Number(h.userId))}::bigint[], ${rows.map((h) => h.challengeId)}::text[],
      ${rows.map((h) => (stream === 'develop' && info(h)?.legacyId != null ? String(info(h)!.legacyId) : null))}::text[],
      ${rows.map((h) => info(h)?.name ?? null)}::text[],
      ${rows.map((h) => h.oldRating)}::int[], ${rows.map((h) => h.newRating)}::int[],
      ${rows.map((h) => h.oldVolatility)}::int[], ${rows.map((h) => h.newVolatility)}::int[],
      ${rows.map((h) => h.placement)}::int[], ${rows.map((h) => h.percentile)}::float8[], ${rows.map((h) => h.eventDate)}::timestamptz[]
    ) AS t("userId", "challengeId", "legacyId", "challengeName", "oldRating", "newRating", "oldVolatility", "newVolatility",
           placement, percentile, "eventDate")`;
}

/**
 * The stored history row(s) `h` a rerate row `r` rewrites: same member and key, the challenge's id or (Development)
 * its legacy numeric id. Promote and its preview's diff use the same match, so the diff is what promote writes.
 */
export const historyMatch = (trackId: string, typeId: string) =>
  sql`h."userId" = r."userId" AND h."trackId" = ${trackId}::uuid AND h."typeId" = ${typeId}::uuid
    AND h."challengeId" IN (r."challengeId", r."legacyId")`;

/** Rated fields a rerate writes: a row is rewritten when any differs. */
export const ratedFields = (alias: 'h' | 'r') =>
  sql`(${sql.join(['oldRating', 'newRating', 'oldVolatility', 'newVolatility', 'placement', 'percentile'].map((c) => sql`${sql.ref(`${alias}.${c}`)}`))})`;

/** Applies the temp table rerate_rows (a chunk's rows, or a promoted preview's) to the history; drops it. */
export async function applyStagedRows(tx: Kysely<any>, catalog: Catalog, stream: Stream): Promise<number> {
  const [trackId, typeId] = keyIds(catalog, STREAM_KEY[stream]);
  const by = RERATE_CREATED_BY[stream];
  await sql`ANALYZE rerate_rows`.execute(tx);
  const match = historyMatch(trackId, typeId);
  const updated = await sql`
    UPDATE members."memberStatsHistory" h
    SET "oldRating" = r."oldRating", "newRating" = r."newRating", "oldVolatility" = r."oldVolatility",
        "newVolatility" = r."newVolatility", placement = r.placement, percentile = r.percentile,
        "updatedBy" = ${by}, "updatedAt" = now()
    FROM rerate_rows r
    WHERE ${match}
      AND ${ratedFields('h')} IS DISTINCT FROM ${ratedFields('r')}`.execute(tx);
  const inserted = await sql`
    INSERT INTO members."memberStatsHistory" ("userId", "trackId", "typeId", "challengeId", "challengeName", "oldRating", "newRating",
      "oldVolatility", "newVolatility", placement, percentile, "eventDate", "createdBy", "updatedBy")
    SELECT r."userId", ${trackId}::uuid, ${typeId}::uuid, r."challengeId", r."challengeName", r."oldRating", r."newRating",
           r."oldVolatility", r."newVolatility", r.placement, r.percentile, r."eventDate", ${by}, ${by}
    FROM rerate_rows r
    -- a participant missing from member (deleted, never migrated) is rated against but gets no row, as the backfill skips them
    WHERE EXISTS (SELECT 1 FROM members."member" m WHERE m."userId" = r."userId")
      AND NOT EXISTS (SELECT 1 FROM members."memberStatsHistory" h WHERE ${match})`.execute(tx);
  await sql`DROP TABLE rerate_rows`.execute(tx);
  return Number(updated.numAffectedRows ?? 0) + Number(inserted.numAffectedRows ?? 0);
}

/**
 * After the last chunk, for the members a rerate touched: mostRecent on the latest row of the stream (ties by id),
 * the stream's stats row from its history (the latest rated row's rating and volatility, max and min over rated
 * rows), the stream's ranks (relative: once), memberMaxRating. Only changed rows are written.
 */
export async function finalizeRerate(
  db: Kysely<any>,
  catalog: Catalog,
  stream: Stream,
  userIds: readonly number[],
): Promise<{ statsChanged: number; ranksChanged: number }> {
  const ids = [...new Set(userIds)].sort((a, b) => a - b);
  let statsChanged = 0;
  // in ranges, each its own transaction: a range is correct on its own (its members' rows are derived from their
  // history alone), and a rerun after a crash redoes only what differs
  for (let i = 0; i < ids.length; i += FINALIZE_MEMBERS) {
    const range = ids.slice(i, i + FINALIZE_MEMBERS);
    statsChanged += await db.transaction().execute((tx) => refreshStreamStats(tx, catalog, stream, range));
  }
  const ranksChanged = await rerankStream(db, catalog, stream, { leaveToBackfill: true });
  return { statsChanged, ranksChanged };
}

/**
 * The stream's partition re-ranked (relative: all of it), and on record as ours from now on. With leaveToBackfill
 * (outside a transaction only), not while a running backfill re-ranks it at its end (store/backfill/ranks.ts).
 */
export async function rerankStream(
  db: Kysely<any>,
  catalog: Catalog,
  stream: Stream,
  opts: { leaveToBackfill?: boolean } = {},
): Promise<number> {
  const [trackId, typeId] = keyIds(catalog, STREAM_KEY[stream]);
  await markReranked(db, { trackId, typeId }, RERATE_CREATED_BY[stream]);
  if (opts.leaveToBackfill && (await db.transaction().execute((tx) => ranksLeftToBackfill(tx, { trackId, typeId })))) return 0;
  return refreshRanks(db, [{ trackId, typeId }]);
}

/** mostRecent, the stream's stats rows and memberMaxRating of `userIds`, inside the caller's transaction. */
export async function refreshStreamStats(tx: Kysely<any>, catalog: Catalog, stream: Stream, userIds: readonly number[]): Promise<number> {
  const [trackId, typeId] = keyIds(catalog, STREAM_KEY[stream]);
  const by = RERATE_CREATED_BY[stream];
  const ids = [...userIds];
  // the members' rows first, in id order, as backfill batches and refreshes lock them (store/backfill/membership.ts),
  // then the derived lock: a refresh holding a member and waiting for that lock never waits on us in turn
  await sql`SELECT 1 FROM members."member" WHERE "userId" = ANY(${ids}::bigint[]) ORDER BY "userId" FOR NO KEY UPDATE`.execute(tx);
  await lockDerived(tx);
  const key = sql`"trackId" = ${trackId}::uuid AND "typeId" = ${typeId}::uuid AND "userId" = ANY(${ids}::bigint[])`;
  const latest = sql`SELECT DISTINCT ON ("userId") id FROM members."memberStatsHistory" WHERE ${key} ORDER BY "userId", "eventDate" DESC, id DESC`;
  // cleared before set: at most one mostRecent row per member and key (a unique index holds it)
  await sql`UPDATE members."memberStatsHistory" SET "mostRecent" = false WHERE ${key} AND "mostRecent" AND id NOT IN (${latest})`.execute(
    tx,
  );
  await sql`
    UPDATE members."memberStatsHistory" SET "mostRecent" = true WHERE id IN (${latest}) AND NOT "mostRecent"`.execute(tx);
  const r = await sql`
    WITH h AS (
      SELECT "userId",
             (array_agg("newRating" ORDER BY "eventDate" DESC, "challengeId" DESC) FILTER (WHERE "newRating" IS NOT NULL))[1] AS rating,
             (array_agg("newVolatility" ORDER BY "eventDate" DESC, "challengeId" DESC) FILTER (WHERE "newRating" IS NOT NULL))[1] AS volatility,
             max("newRating") AS "maxRating", min("newRating") AS "minRating"
      FROM members."memberStatsHistory" WHERE ${key} GROUP BY "userId"
    )
    UPDATE members."memberStats" s
    SET rating = h.rating, volatility = h.volatility, "maxRating" = h."maxRating", "minRating" = h."minRating",
        "updatedBy" = ${by}, "updatedAt" = now()
    FROM h
    WHERE s."userId" = h."userId" AND s."trackId" = ${trackId}::uuid AND s."typeId" = ${typeId}::uuid
      AND (s.rating, s.volatility, s."maxRating", s."minRating") IS DISTINCT FROM (h.rating, h.volatility, h."maxRating", h."minRating")`.execute(
    tx,
  );
  // a member the rerate rated for the first time on the stream gets its stats row (counts from the history)
  const added = await sql`
    INSERT INTO members."memberStats" ("userId", "trackId", "typeId", challenges, wins, rating, volatility, "maxRating", "minRating",
      "mostRecentEventDate", "createdBy", "updatedBy")
    SELECT "userId", ${trackId}::uuid, ${typeId}::uuid, count(*)::int, count(*) FILTER (WHERE placement = 1)::int,
           (array_agg("newRating" ORDER BY "eventDate" DESC, "challengeId" DESC) FILTER (WHERE "newRating" IS NOT NULL))[1],
           (array_agg("newVolatility" ORDER BY "eventDate" DESC, "challengeId" DESC) FILTER (WHERE "newRating" IS NOT NULL))[1],
           max("newRating"), min("newRating"), max("eventDate"), ${by}, ${by}
    FROM members."memberStatsHistory" h WHERE ${key}
      AND NOT EXISTS (SELECT 1 FROM members."memberStats" s WHERE s."userId" = h."userId" AND s."trackId" = h."trackId" AND s."typeId" = h."typeId")
    GROUP BY "userId"`.execute(tx);
  await refreshMaxRating(tx, catalog, { userIds: ids });
  return Number(r.numAffectedRows ?? 0) + Number(added.numAffectedRows ?? 0);
}
