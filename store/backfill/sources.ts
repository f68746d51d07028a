import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Catalog } from '../../domain/catalog';
import { challengeKeyMap } from '../catalog';
import type { Databases } from '../db';
import { explicitlyUnratedSql } from '../metadata';
import { challengeColumns, keepSnapshotsFresh } from './challenge-snapshot';

/**
 * The batch's members' slice of the challenges and review databases, as two temp tables on the members
 * connection: batch_results (challengeResult + its Challenge) and batch_winners (ChallengeWinner + its Challenge,
 * only where the member has no challengeResult row for that challenge: the statements after read winner rows only
 * as the fallback for a missing result). Materialized once per batch, read by every statement after. One database →
 * set-based statements driven from batch_members through the userId indexes, joined to the run's reading of
 * Challenge (challenge-snapshot.ts) or, without one, to the challenges looked up for the batch; separate
 * databases → indexed reads there, then unnest here.
 */

export const UUID_TEXT = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

/**
 * UUID_TEXT in a form Postgres checks in well under a µs (a regex with counted repetitions costs several µs a row, a
 * third of a batch's preload on large): 36 characters, dashes where UUID_TEXT has them, hex between.
 */
export const uuidShaped = (x: RawBuilder<unknown>) =>
  sql`(length(${x}) = 36 AND substr(${x}, 9, 1) = '-' AND substr(${x}, 14, 1) = '-' AND substr(${x}, 19, 1) = '-'
       AND substr(${x}, 24, 1) = '-' AND ${x} ~ '^[0-9a-fA-F]+-[0-9a-fA-F]+-[0-9a-fA-F]+-[0-9a-fA-F]+-[0-9a-fA-F]+$')`;

// track_id, type_id: the unified key the challenge counts towards (store/catalog.ts challengeKeyMap), resolved as the
// rows are loaded (a challenge of a track and type the catalogue lacks counts nowhere: not loaded); every statement
// after groups by it, and a key mapped per statement was misestimated into sorts and merge joins of the whole batch
const RESULT_COLUMNS = sql`"userId" bigint, "challengeId" text, placement int, "newRating" int, track_id uuid, type_id uuid, status text, "endDate" timestamptz, name text, "legacyId" bigint, unrated boolean`;
const WINNER_COLUMNS = sql`"userId" bigint, "challengeId" text, placement int, type text, track_id uuid, type_id uuid, status text, "endDate" timestamptz, name text, "legacyId" bigint, unrated boolean`;

/** The unified key of a challenge row `c` (its "trackId", "typeId"), joined as k(track_id, type_id). */
const keyOf = (catalog: Catalog, c: RawBuilder<unknown>) =>
  sql`JOIN ${challengeKeyMap(catalog)} AS k(track_id_in, type_id_in, track_id, type_id) ON k.track_id_in = ${c}."trackId" AND k.type_id_in = ${c}."typeId"`;

/** `snapshotOf`: the run whose reading of Challenge the batch joins (one database only); none: looked up live. */
export async function loadBatchSources(tx: Kysely<any>, dbs: Databases, catalog: Catalog, snapshotOf?: string): Promise<void> {
  await sql`CREATE TEMP TABLE batch_results (${RESULT_COLUMNS}) ON COMMIT DROP`.execute(tx);
  await sql`CREATE TEMP TABLE batch_winners (${WINNER_COLUMNS}) ON COMMIT DROP`.execute(tx);
  if (dbs.sameDatabase) {
    await fromOneDatabase(tx, catalog, snapshotOf);
    // a writer that read Challenge itself keeps the readings of the runs going on as fresh as what it wrote
    if (snapshotOf === undefined) await keepSnapshotsFresh(tx);
  } else {
    await copyFromOtherDatabases(tx, dbs, catalog); // its rows come marked
  }
  // analyzed once filled (results before the winners' anti-join reads them): unanalyzed, they look empty, and
  // statistics taken before the unrated marking said nothing is unrated, so the planner looped over every result
  await sql`ANALYZE batch_winners`.execute(tx);
}

/** Winner rows are read only where the member has no result row for the challenge (the `w` of a winners query). */
const withoutResult = sql`NOT EXISTS (SELECT 1 FROM batch_results r WHERE r."userId" = w."userId" AND r."challengeId" = w."challengeId")`;

/** The bounds let the userId index scan of ChallengeWinner start at the batch instead of the table's first row. */
const winnersOfBatch = sql`
  FROM batch_members p
  JOIN challenges."ChallengeWinner" w ON w."userId" = p."userId"
    AND w."userId" BETWEEN (SELECT min("userId") FROM batch_members) AND (SELECT max("userId") FROM batch_members)`;

/**
 * The batch's results and winner rows first (userId indexes), then the challenges they name — each distinct id once,
 * probed through the primary key of the run's reading (challenge-snapshot.ts) or, without one, of Challenge with
 * its explicitly-unrated flag (metadata index) — into a small analyzed table, then joined. Cost ∝ the batch: a join
 * of the rows to Challenge or to the run's reading directly was planned as a hash of the whole table per batch (2.8 s
 * of every batch on large), and an unrated lookup planned inside one statement became a nested loop.
 */
async function fromOneDatabase(tx: Kysely<any>, catalog: Catalog, snapshotOf?: string): Promise<void> {
  await sql`
    CREATE TEMP TABLE batch_cr ON COMMIT DROP AS
    SELECT p."userId", cr."challengeId", cr.placement, cr."newRating"
    FROM batch_members p JOIN reviews."challengeResult" cr ON cr."userId" = p."userId"::text`.execute(tx);
  await sql`
    CREATE TEMP TABLE batch_cw ON COMMIT DROP AS
    SELECT p."userId", w."challengeId"::text AS "challengeId", w.placement, w.type ${winnersOfBatch}`.execute(tx);
  // an array: probed through the primary key whatever the (unanalyzed) temp tables' size
  const named = sql`SELECT "challengeId" AS id FROM batch_cr UNION SELECT "challengeId" FROM batch_cw`;
  if (snapshotOf !== undefined) {
    await sql`
      CREATE TEMP TABLE batch_challenges ON COMMIT DROP AS
      SELECT c.id, c."trackId", c."typeId", c.status, c."endDate", c.name, c."legacyId", c.unrated
      FROM platform."backfillChallenge" c
      WHERE c."runKey" = ${snapshotOf} AND c.id = ANY(ARRAY(SELECT x.id COLLATE "C" FROM (${named}) x))`.execute(tx);
  } else {
    // a legacy numeric id (it names no Challenge) is never cast
    await sql`
      CREATE TEMP TABLE batch_challenges ON COMMIT DROP AS
      SELECT ${challengeColumns(sql`ch`)}
      FROM challenges."Challenge" ch
      WHERE ch.id = ANY(ARRAY(SELECT CASE WHEN ${uuidShaped(sql`x.id`)} THEN x.id::uuid END FROM (${named}) x))`.execute(tx);
  }
  await sql`ANALYZE batch_challenges`.execute(tx);
  await sql`
    INSERT INTO batch_results
    SELECT r."userId", r."challengeId", r.placement, r."newRating", k.track_id, k.type_id, c.status, c."endDate", c.name, c."legacyId", c.unrated
    FROM batch_cr r JOIN batch_challenges c ON c.id = r."challengeId" COLLATE "C" ${keyOf(catalog, sql`c`)}`.execute(tx);
  await sql`ANALYZE batch_results`.execute(tx);
  await sql`
    INSERT INTO batch_winners
    SELECT w."userId", w."challengeId", w.placement, w.type, k.track_id, k.type_id, c.status, c."endDate", c.name, c."legacyId", c.unrated
    FROM batch_cw w JOIN batch_challenges c ON c.id = w."challengeId" COLLATE "C" ${keyOf(catalog, sql`c`)}
    WHERE ${withoutResult}`.execute(tx);
}

async function copyFromOtherDatabases(tx: Kysely<any>, dbs: Databases, catalog: Catalog): Promise<void> {
  const ids = (await sql<{ userId: number }>`SELECT "userId" FROM batch_members`.execute(tx)).rows.map((r) => r.userId);
  const results = await sql<{ userId: string; challengeId: string; placement: number | null; newRating: number | null }>`
    SELECT "userId", "challengeId", placement, "newRating" FROM reviews."challengeResult"
    WHERE "userId" = ANY(${ids.map(String)}::text[])`.execute(dbs.reviews);
  const winners = await sql<{ userId: number; challengeId: string; placement: number; type: string }>`
    SELECT "userId", "challengeId"::text AS "challengeId", placement, type FROM challenges."ChallengeWinner"
    WHERE "userId" = ANY(${ids}::int[])`.execute(dbs.challenges);
  const uuid = new RegExp(UUID_TEXT);
  const challengeIds = [...new Set([...results.rows.map((r) => r.challengeId), ...winners.rows.map((w) => w.challengeId)])].filter((id) =>
    uuid.test(id),
  );
  const challenges = await sql<{
    id: string;
    trackId: string;
    typeId: string;
    status: string;
    endDate: Date | null;
    name: string;
    legacyId: number | null;
    unrated: boolean;
  }>`
    SELECT c.id::text AS id, c."trackId"::text AS "trackId", c."typeId"::text AS "typeId", c.status, c."endDate", c.name, c."legacyId",
           ${explicitlyUnratedSql(sql`c.id`)} AS unrated
    FROM challenges."Challenge" c WHERE c.id = ANY(${challengeIds}::uuid[])`.execute(dbs.challenges);
  const byId = new Map(challenges.rows.map((c) => [c.id.toLowerCase(), c]));
  const r = results.rows.flatMap((x) => {
    const c = byId.get(x.challengeId.toLowerCase());
    return c && /^\d+$/.test(x.userId) ? [{ ...x, c }] : [];
  });
  const resulted = new Set(r.map((x) => `${Number(x.userId)} ${x.challengeId}`));
  const w = winners.rows.flatMap((x) => {
    const c = byId.get(x.challengeId.toLowerCase());
    return c && !resulted.has(`${x.userId} ${x.challengeId}`) ? [{ ...x, c }] : [];
  });
  await sql`
    INSERT INTO batch_results
    SELECT c."userId", c."challengeId", c.placement, c."newRating", k.track_id, k.type_id, c.status, c."endDate", c.name, c."legacyId", c.unrated
    FROM unnest(${r.map((x) => Number(x.userId))}::bigint[], ${r.map((x) => x.challengeId)}::text[], ${r.map((x) => x.placement)}::int[],
      ${r.map((x) => x.newRating)}::int[], ${r.map((x) => x.c.trackId)}::uuid[], ${r.map((x) => x.c.typeId)}::uuid[], ${r.map((x) => x.c.status)}::text[],
      ${r.map((x) => x.c.endDate)}::timestamptz[], ${r.map((x) => x.c.name)}::text[], ${r.map((x) => x.c.legacyId)}::bigint[],
      ${r.map((x) => x.c.unrated)}::boolean[])
      AS c("userId", "challengeId", placement, "newRating", "trackId", "typeId", status, "endDate", name, "legacyId", unrated)
    ${keyOf(catalog, sql`c`)}`.execute(tx);
  await sql`ANALYZE batch_results`.execute(tx);
  await sql`
    INSERT INTO batch_winners
    SELECT c."userId", c."challengeId", c.placement, c.type, k.track_id, k.type_id, c.status, c."endDate", c.name, c."legacyId", c.unrated
    FROM unnest(${w.map((x) => x.userId)}::bigint[], ${w.map((x) => x.challengeId)}::text[], ${w.map((x) => x.placement)}::int[],
      ${w.map((x) => x.type)}::text[], ${w.map((x) => x.c.trackId)}::uuid[], ${w.map((x) => x.c.typeId)}::uuid[], ${w.map((x) => x.c.status)}::text[],
      ${w.map((x) => x.c.endDate)}::timestamptz[], ${w.map((x) => x.c.name)}::text[], ${w.map((x) => x.c.legacyId)}::bigint[],
      ${w.map((x) => x.c.unrated)}::boolean[])
      AS c("userId", "challengeId", placement, type, "trackId", "typeId", status, "endDate", name, "legacyId", unrated)
    ${keyOf(catalog, sql`c`)}`.execute(tx);
}
