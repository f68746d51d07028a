import { sql, type Kysely } from 'kysely';
import { DEFAULT_MISSING_RATED_POLICY, type MissingRatedPolicy } from '../../domain/rating/participants';
import { replay, type HistoryRow } from '../../domain/rating/replay';
import type { Catalog } from '../../domain/catalog';
import type { Databases } from '../db';
import { developmentEvents, type StreamChallenge } from '../rated-events';

/**
 * The Development rating stream (DEVELOPMENT track, type Challenge or legacy CODE) replayed from the start with the
 * engine, in memory: a handful of indexed reads, then pure arithmetic. Batches write their members' slice.
 */

export type DevelopEvent = StreamChallenge;

export interface DevelopReplay {
  events: Map<string, DevelopEvent>;
  /** history rows by member */
  byMember: Map<string, HistoryRow[]>;
}

export async function developReplay(
  dbs: Databases,
  catalog: Catalog,
  policy: MissingRatedPolicy = DEFAULT_MISSING_RATED_POLICY,
): Promise<DevelopReplay> {
  const stream = await developmentEvents(dbs, catalog, policy);
  const { history } = replay(stream.events);
  const byMember = new Map<string, HistoryRow[]>();
  for (const h of history) {
    const list = byMember.get(h.userId);
    if (list) list.push(h);
    else byMember.set(h.userId, [h]);
  }
  return { events: stream.challenges, byMember };
}

/**
 * Stages the replay's rows of the batch's members (temp table batch_rerate) and applies them to the staged
 * backfill rows before anything is upserted, so a run writes each value once and a second run writes nothing:
 * history rows are matched to the event's row (canonical UUID id, or the legacy numeric id) and corrected, missing
 * ones added as the rerate's own; the stats rating, volatility and max/min of (DEVELOPMENT, Challenge|CODE) follow
 * the member's events there. Returns the member events rerated.
 */
export async function applyDevelopRerate(
  tx: Kysely<any>,
  r: DevelopReplay,
  devTrackId: string,
  opts: { history: boolean },
): Promise<number> {
  const ids = (await sql<{ userId: number }>`SELECT "userId" FROM batch_members`.execute(tx)).rows.map((x) => String(x.userId));
  const rows = ids.flatMap((id) => r.byMember.get(id) ?? []);
  if (rows.length === 0) return 0;
  const ev = (h: HistoryRow) => r.events.get(h.challengeId)!;
  await sql`
    CREATE TEMP TABLE batch_rerate ON COMMIT DROP AS
    SELECT * FROM unnest(
      ${rows.map((h) => Number(h.userId))}::bigint[], ${rows.map((h) => ev(h).typeId)}::uuid[], ${rows.map((h) => h.challengeId)}::text[],
      ${rows.map((h) => (ev(h).legacyId === null ? null : String(ev(h).legacyId)))}::text[], ${rows.map((h) => ev(h).name)}::text[],
      ${rows.map((h) => h.oldRating)}::int[], ${rows.map((h) => h.newRating)}::int[],
      ${rows.map((h) => h.oldVolatility)}::int[], ${rows.map((h) => h.newVolatility)}::int[],
      ${rows.map((h) => h.placement)}::int[], ${rows.map((h) => h.percentile)}::float8[], ${rows.map((h) => h.eventDate)}::timestamptz[]
    ) AS t("userId", "typeId", "challengeId", "legacyId", "challengeName", "oldRating", "newRating", "oldVolatility", "newVolatility", placement, percentile, "eventDate")`.execute(
    tx,
  );
  if (opts.history) {
    await sql`
      UPDATE batch_history h
      SET "oldRating" = r."oldRating", "newRating" = r."newRating", "oldVolatility" = r."oldVolatility",
          "newVolatility" = r."newVolatility", placement = r.placement, percentile = r.percentile
      FROM batch_rerate r
      WHERE h."userId" = r."userId" AND h."trackId" = ${devTrackId}::uuid AND h."typeId" = r."typeId" AND h."challengeId" IN (r."challengeId", r."legacyId")`.execute(
      tx,
    );
    await sql`
      INSERT INTO batch_history ("userId", "trackId", "typeId", "challengeId", "challengeName", "oldRating", "newRating",
        "oldVolatility", "newVolatility", placement, percentile, "eventDate", "createdBy")
      SELECT r."userId", ${devTrackId}::uuid, r."typeId", r."challengeId", r."challengeName", r."oldRating", r."newRating",
             r."oldVolatility", r."newVolatility", r.placement, r.percentile, r."eventDate", 'rerate'
      FROM batch_rerate r
      WHERE NOT EXISTS (
        SELECT 1 FROM batch_history h
        WHERE h."userId" = r."userId" AND h."trackId" = ${devTrackId}::uuid AND h."typeId" = r."typeId" AND h."challengeId" IN (r."challengeId", r."legacyId"))`.execute(
      tx,
    );
  }
  await sql`
    WITH latest AS (
      SELECT "userId", "typeId",
             (array_agg("newRating" ORDER BY "eventDate" DESC, "challengeId" DESC))[1] AS rating,
             (array_agg("newVolatility" ORDER BY "eventDate" DESC, "challengeId" DESC))[1] AS volatility,
             max("newRating") AS "maxRating", min("newRating") AS "minRating", max("eventDate") AS "eventDate"
      FROM batch_rerate GROUP BY "userId", "typeId"
    ), upd AS (
      UPDATE batch_stats s SET rating = l.rating, volatility = l.volatility, "maxRating" = l."maxRating", "minRating" = l."minRating"
      FROM latest l WHERE s."userId" = l."userId" AND s."trackId" = ${devTrackId}::uuid AND s."typeId" = l."typeId"
      RETURNING s."userId", s."typeId"
    )
    INSERT INTO batch_stats ("userId", "trackId", "typeId", challenges, wins, rating, volatility, "maxRating", "minRating", "mostRecentEventDate")
    SELECT l."userId", ${devTrackId}::uuid, l."typeId", 0, 0, l.rating, l.volatility, l."maxRating", l."minRating", l."eventDate"
    FROM latest l WHERE NOT EXISTS (SELECT 1 FROM upd u WHERE u."userId" = l."userId" AND u."typeId" = l."typeId")`.execute(tx);
  return rows.length;
}
