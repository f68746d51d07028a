import { sql, type Kysely } from 'kysely';
import type { Catalog } from '../../domain/catalog';
import { DEVELOP_RATED_KEY, DEVELOP_STREAM_ITEMS } from '../../domain/mapping';
import { continueFromLegacySteps, type LegacyStreamState } from '../../domain/rating/continue';
import { drainYielding } from '../yielding';
import { DEFAULT_MISSING_RATED_POLICY, type MissingRatedPolicy } from '../../domain/rating/participants';
import type { HistoryRow, MemberState } from '../../domain/rating/replay';
import { keyIds } from '../catalog';
import { currentStreamItem } from '../legacy-stats';
import type { Databases } from '../db';
import { developmentContinuation, type StreamChallenge } from '../rated-events';
import { batchRows } from '../sql';

/**
 * The Development rating stream (DEVELOPMENT track, type Challenge or legacy CODE) as the backfill rates it:
 * preserved versus computed (domain/rating/continue.ts). What the old system rated — challengeResult old/new
 * ratings, the legacy history — stays; the engine rates only what came after each member's legacy data, from
 * their legacy state. In memory: a handful of indexed reads, then arithmetic. Batches write their members' slice.
 */

export type DevelopEvent = StreamChallenge;

export interface DevelopReplay {
  events: Map<string, DevelopEvent>;
  /** the engine's history rows by member */
  byMember: Map<string, HistoryRow[]>;
  /** members the engine rated: their state after the last such event */
  states: Map<string, MemberState>;
}

/** Each member's legacy state on the stream: the current item's rating and volatility, legacy history rows and their end. */
export async function legacyDevelopStates(members: Kysely<any>): Promise<Map<string, LegacyStreamState>> {
  const r = await sql<{ userId: number; rating: number | null; volatility: number | null; ratings: number; last: Date | null }>`
    WITH cur AS (
      -- the current item, store/legacy-stats.ts's rule: the sub-track of the latest legacy history row, else the latest
      SELECT DISTINCT ON (ds."userId") ds."userId", i.rating, i.volatility
      FROM members."memberDevelopStats" ds JOIN members."memberDevelopStatsItem" i ON i."developStatsId" = ds.id
      LEFT JOIN (${currentStreamItem(sql`SELECT DISTINCT "userId" FROM members."memberDevelopStats"`)}) c ON c."userId" = ds."userId"
      WHERE i.name = ANY(${[...DEVELOP_STREAM_ITEMS]}::text[]) AND i.rating IS NOT NULL
      ORDER BY ds."userId", i.name IS DISTINCT FROM c."subTrack", i."mostRecentEventDate" DESC NULLS LAST, i.name
    ),
    hist AS (
      SELECT h."userId", count(*)::int AS n, max(d."ratingDate") AS last
      FROM members."memberHistoryStats" h JOIN members."memberDevelopHistoryStats" d ON d."historyStatsId" = h.id
      WHERE d."subTrack" = ANY(${[...DEVELOP_STREAM_ITEMS]}::text[]) AND d."newRating" IS NOT NULL
      GROUP BY h."userId"
    )
    SELECT COALESCE(c."userId", h."userId") AS "userId", c.rating, c.volatility, COALESCE(h.n, 0) AS ratings, h.last
    FROM cur c FULL JOIN hist h ON h."userId" = c."userId"`.execute(members);
  return new Map(
    r.rows.map((x) => [
      String(x.userId),
      { rating: x.rating, volatility: x.volatility, ratings: x.ratings, lastEventAt: x.last === null ? null : x.last.getTime() },
    ]),
  );
}

export async function developReplay(
  dbs: Databases,
  catalog: Catalog,
  policy: MissingRatedPolicy = DEFAULT_MISSING_RATED_POLICY,
): Promise<DevelopReplay> {
  const [stream, legacy] = await Promise.all([developmentContinuation(dbs, catalog, policy), legacyDevelopStates(dbs.members)]);
  // in slices: the engine's work on a large stream must not hold the worker's event loop for seconds
  const { history, states } = await drainYielding(continueFromLegacySteps(stream.events, stream.recorded, legacy));
  const byMember = new Map<string, HistoryRow[]>();
  for (const h of history) {
    const list = byMember.get(h.userId);
    if (list) list.push(h);
    else byMember.set(h.userId, [h]);
  }
  return { events: stream.challenges, byMember, states };
}

/**
 * Stages the engine's rows of the batch's members (temp table batch_rerate) and applies them to the staged
 * backfill rows before anything is upserted, so a run writes each value once and a second run writes nothing:
 * history rows are matched to the event's row (canonical UUID id, or the legacy numeric id) and completed, missing
 * ones added as the rerate's own; the stream's stats row (DEVELOPMENT/Challenge, where the rating lives) takes the
 * member's state after their last rated event, max/min widened by the new ratings. Returns the member events rated.
 */
export async function applyDevelopRerate(tx: Kysely<any>, r: DevelopReplay, catalog: Catalog, opts: { history: boolean }): Promise<number> {
  const [devTrack, streamType] = keyIds(catalog, DEVELOP_RATED_KEY);
  const ids = (await sql<{ userId: number }>`SELECT "userId" FROM batch_members`.execute(tx)).rows.map((x) => String(x.userId));
  const rows = ids.flatMap((id) => r.byMember.get(id) ?? []);
  if (rows.length === 0) return 0;
  const ev = (h: HistoryRow) => r.events.get(h.challengeId)!;
  await sql`
    CREATE TEMP TABLE batch_rerate ON COMMIT DROP AS
    SELECT * FROM unnest(
      ${rows.map((h) => Number(h.userId))}::bigint[], ${rows.map((h) => h.challengeId)}::text[],
      ${rows.map((h) => (ev(h).legacyId === null ? null : String(ev(h).legacyId)))}::text[], ${rows.map((h) => ev(h).name)}::text[],
      ${rows.map((h) => h.oldRating)}::int[], ${rows.map((h) => h.newRating)}::int[],
      ${rows.map((h) => h.oldVolatility)}::int[], ${rows.map((h) => h.newVolatility)}::int[],
      ${rows.map((h) => h.placement)}::int[], ${rows.map((h) => h.percentile)}::float8[], ${rows.map((h) => h.eventDate)}::timestamptz[]
    ) AS t("userId", "challengeId", "legacyId", "challengeName", "oldRating", "newRating", "oldVolatility", "newVolatility",
           placement, percentile, "eventDate")`.execute(tx);
  // fresh temp tables have no statistics: without them the planner loops over batch_history per rerated row
  await sql`ANALYZE batch_rerate`.execute(tx);
  const onKey = sql`h."userId" = r."userId" AND h."trackId" = ${devTrack}::uuid AND h."typeId" = ${streamType}::uuid
    AND h."challengeId" IN (r."challengeId", r."legacyId")`;
  if (opts.history) {
    await sql`
      UPDATE batch_history h
      SET "oldRating" = r."oldRating", "newRating" = r."newRating", "oldVolatility" = r."oldVolatility",
          "newVolatility" = r."newVolatility", placement = r.placement, percentile = r.percentile
      FROM batch_rerate r WHERE ${onKey}`.execute(tx);
    await sql`
      INSERT INTO batch_history ("userId", "trackId", "typeId", "challengeId", "challengeName", "oldRating", "newRating",
        "oldVolatility", "newVolatility", placement, percentile, "eventDate", "createdBy")
      SELECT r."userId", ${devTrack}::uuid, ${streamType}::uuid, r."challengeId", r."challengeName", r."oldRating", r."newRating",
             r."oldVolatility", r."newVolatility", r.placement, r.percentile, r."eventDate", 'rerate'
      FROM batch_rerate r WHERE NOT EXISTS (SELECT 1 FROM batch_history h WHERE ${onKey})`.execute(tx);
  }
  const members = [...new Set(rows.map((h) => h.userId))];
  const state = (id: string) => r.states.get(id)!;
  await sql`
    WITH fin AS (
      SELECT f.*, x."maxRating", x."minRating", x."eventDate"
      FROM unnest(${members.map(Number)}::bigint[], ${members.map((id) => state(id).rating)}::int[],
                  ${members.map((id) => state(id).volatility)}::int[]) AS f("userId", rating, volatility)
      JOIN (SELECT "userId", max("newRating") AS "maxRating", min("newRating") AS "minRating", max("eventDate") AS "eventDate"
            FROM batch_rerate GROUP BY "userId") x ON x."userId" = f."userId"
    ), upd AS (
      UPDATE batch_stats s SET rating = f.rating, volatility = f.volatility,
             "maxRating" = GREATEST(s."maxRating", f."maxRating"), "minRating" = LEAST(s."minRating", f."minRating")
      FROM fin f WHERE s."userId" = f."userId" AND s."trackId" = ${devTrack}::uuid AND s."typeId" = ${streamType}::uuid
      RETURNING s."userId"
    )
    INSERT INTO batch_stats ("userId", "trackId", "typeId", challenges, wins, rating, volatility, "maxRating", "minRating", "mostRecentEventDate")
    SELECT f."userId", ${devTrack}::uuid, ${streamType}::uuid, 0, 0, f.rating, f.volatility, f."maxRating", f."minRating", f."eventDate"
    FROM fin f WHERE NOT EXISTS (SELECT 1 FROM upd u WHERE u."userId" = f."userId")`.execute(tx);
  return rows.length;
}

/**
 * A run without the continuation (--skip-rerate, --skip-ratings) keeps what an earlier continuation wrote: members
 * with rerated rows on the stream keep the stored rating fields of the stream's stats row, so stats and history
 * keep telling the same story (rerated history rows are never removed by a backfill).
 */
export async function keepContinuedRatings(tx: Kysely<any>, catalog: Catalog): Promise<void> {
  const [devTrack, streamType] = keyIds(catalog, DEVELOP_RATED_KEY);
  await sql`
    UPDATE batch_stats s SET rating = u.rating, volatility = u.volatility, "maxRating" = u."maxRating", "minRating" = u."minRating"
    FROM ${batchRows('members.memberStats')} u
    WHERE u."userId" = s."userId" AND u."trackId" = s."trackId" AND u."typeId" = s."typeId"
      AND s."trackId" = ${devTrack}::uuid AND s."typeId" = ${streamType}::uuid
      AND EXISTS (SELECT 1 FROM ${batchRows('members.memberStatsHistory')} h
                  WHERE h."userId" = s."userId" AND h."trackId" = ${devTrack}::uuid AND h."typeId" = ${streamType}::uuid AND h."createdBy" = 'rerate')`.execute(
    tx,
  );
}
