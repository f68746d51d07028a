import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Databases } from '../db';
import { explicitlyUnratedSql } from '../metadata';

/**
 * The batch's members' slice of the challenges and review databases, as two temp tables on the members
 * connection: batch_results (challengeResult + its Challenge) and batch_winners (ChallengeWinner + its Challenge).
 * Materialized once per batch, read by every statement after. One database → one set-based statement each,
 * driven from batch_members through the userId indexes; separate databases → indexed reads there, then unnest here.
 */

export const UUID_TEXT = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

/**
 * UUID_TEXT in a form Postgres checks in well under a µs (a regex with counted repetitions costs several µs a row, a
 * third of a batch's preload on large): 36 characters, dashes where UUID_TEXT has them, hex between.
 */
export const uuidShaped = (x: RawBuilder<unknown>) =>
  sql`(length(${x}) = 36 AND substr(${x}, 9, 1) = '-' AND substr(${x}, 14, 1) = '-' AND substr(${x}, 19, 1) = '-'
       AND substr(${x}, 24, 1) = '-' AND ${x} ~ '^[0-9a-fA-F]+-[0-9a-fA-F]+-[0-9a-fA-F]+-[0-9a-fA-F]+-[0-9a-fA-F]+$')`;

const RESULT_COLUMNS = sql`"userId" bigint, "challengeId" text, placement int, "newRating" int, "trackId" uuid, "typeId" uuid, status text, "endDate" timestamptz, name text, "legacyId" bigint, unrated boolean`;
const WINNER_COLUMNS = sql`"userId" bigint, "challengeId" text, placement int, type text, "trackId" uuid, "typeId" uuid, status text, "endDate" timestamptz, name text, "legacyId" bigint, unrated boolean`;

export async function loadBatchSources(tx: Kysely<any>, dbs: Databases): Promise<void> {
  await sql`CREATE TEMP TABLE batch_results (${RESULT_COLUMNS}) ON COMMIT DROP`.execute(tx);
  await sql`CREATE TEMP TABLE batch_winners (${WINNER_COLUMNS}) ON COMMIT DROP`.execute(tx);
  if (dbs.sameDatabase) {
    await fromOneDatabase(tx);
  } else {
    await copyFromOtherDatabases(tx, dbs); // its rows come marked
  }
  // after the unrated marking: statistics taken before it say nothing is unrated, and the history statement's
  // anti-join over unrated winners then became a nested loop over every result of the batch
  await sql`ANALYZE batch_results`.execute(tx);
  await sql`ANALYZE batch_winners`.execute(tx);
}

/**
 * The batch's results and winner rows first (userId indexes), then the challenges they name, looked up by primary
 * key with their explicitly-unrated flag (metadata index) into a small analyzed table, then joined. Joining
 * challengeResult's text ids to Challenge directly hashed the whole Challenge table per batch (2.8 s of every batch
 * on large), and an unrated lookup planned inside one statement became a nested loop.
 */
async function fromOneDatabase(tx: Kysely<any>): Promise<void> {
  await sql`
    CREATE TEMP TABLE batch_cr ON COMMIT DROP AS
    SELECT p."userId", cr."challengeId", cr.placement, cr."newRating"
    FROM batch_members p JOIN reviews."challengeResult" cr ON cr."userId" = p."userId"::text`.execute(tx);
  await sql`
    CREATE TEMP TABLE batch_cw ON COMMIT DROP AS
    SELECT p."userId", w."challengeId"::text AS "challengeId", w.placement, w.type
    FROM batch_members p
    -- the bounds let the userId index scan start at the batch instead of the table's first row
    JOIN challenges."ChallengeWinner" w ON w."userId" = p."userId"
      AND w."userId" BETWEEN (SELECT min("userId") FROM batch_members) AND (SELECT max("userId") FROM batch_members)`.execute(tx);
  await sql`
    CREATE TEMP TABLE batch_challenges ON COMMIT DROP AS
    SELECT ch.id::text AS id, ch."trackId", ch."typeId", ch.status, ch."endDate", ch.name, ch."legacyId",
           ${explicitlyUnratedSql(sql`ch.id`)} AS unrated
    FROM challenges."Challenge" ch
    -- an array: probed through the primary key whatever the (unanalyzed) temp tables' size; each distinct id checked
    -- once, and a legacy numeric id (it names no Challenge) never cast
    WHERE ch.id = ANY(ARRAY(
      SELECT CASE WHEN ${uuidShaped(sql`x.id`)} THEN x.id::uuid END
      FROM (SELECT "challengeId" AS id FROM batch_cr UNION SELECT "challengeId" FROM batch_cw) x))`.execute(tx);
  await sql`ANALYZE batch_challenges`.execute(tx);
  await sql`
    INSERT INTO batch_results
    SELECT r."userId", r."challengeId", r.placement, r."newRating", c."trackId", c."typeId", c.status, c."endDate", c.name, c."legacyId", c.unrated
    FROM batch_cr r JOIN batch_challenges c ON c.id = r."challengeId"`.execute(tx);
  await sql`
    INSERT INTO batch_winners
    SELECT w."userId", w."challengeId", w.placement, w.type, c."trackId", c."typeId", c.status, c."endDate", c.name, c."legacyId", c.unrated
    FROM batch_cw w JOIN batch_challenges c ON c.id = w."challengeId"`.execute(tx);
}

async function copyFromOtherDatabases(tx: Kysely<any>, dbs: Databases): Promise<void> {
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
  const w = winners.rows.flatMap((x) => {
    const c = byId.get(x.challengeId.toLowerCase());
    return c ? [{ ...x, c }] : [];
  });
  await sql`
    INSERT INTO batch_results
    SELECT * FROM unnest(${r.map((x) => Number(x.userId))}::bigint[], ${r.map((x) => x.challengeId)}::text[], ${r.map((x) => x.placement)}::int[],
      ${r.map((x) => x.newRating)}::int[], ${r.map((x) => x.c.trackId)}::uuid[], ${r.map((x) => x.c.typeId)}::uuid[], ${r.map((x) => x.c.status)}::text[],
      ${r.map((x) => x.c.endDate)}::timestamptz[], ${r.map((x) => x.c.name)}::text[], ${r.map((x) => x.c.legacyId)}::bigint[],
      ${r.map((x) => x.c.unrated)}::boolean[])`.execute(tx);
  await sql`
    INSERT INTO batch_winners
    SELECT * FROM unnest(${w.map((x) => x.userId)}::bigint[], ${w.map((x) => x.challengeId)}::text[], ${w.map((x) => x.placement)}::int[],
      ${w.map((x) => x.type)}::text[], ${w.map((x) => x.c.trackId)}::uuid[], ${w.map((x) => x.c.typeId)}::uuid[], ${w.map((x) => x.c.status)}::text[],
      ${w.map((x) => x.c.endDate)}::timestamptz[], ${w.map((x) => x.c.name)}::text[], ${w.map((x) => x.c.legacyId)}::bigint[],
      ${w.map((x) => x.c.unrated)}::boolean[])`.execute(tx);
}
