import { sql, type Kysely } from 'kysely';
import type { Databases } from '../db';
import { explicitlyUnratedSql } from '../metadata';

/**
 * The batch's members' slice of the challenges and review databases, as two temp tables on the members
 * connection: batch_results (challengeResult + its Challenge) and batch_winners (ChallengeWinner + its Challenge).
 * Materialized once per batch, read by every statement after. One database → one set-based statement each,
 * driven from batch_members through the userId indexes; separate databases → indexed reads there, then unnest here.
 */

const UUID_TEXT = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

const RESULT_COLUMNS = sql`"userId" bigint, "challengeId" text, placement int, "newRating" int, "trackId" uuid, "typeId" uuid, status text, "endDate" timestamptz, name text, "legacyId" bigint, unrated boolean`;
const WINNER_COLUMNS = sql`"userId" bigint, "challengeId" text, placement int, type text, "trackId" uuid, "typeId" uuid, status text, "endDate" timestamptz, name text, "legacyId" bigint, unrated boolean`;

export async function loadBatchSources(tx: Kysely<any>, dbs: Databases): Promise<void> {
  await sql`CREATE TEMP TABLE batch_results (${RESULT_COLUMNS}) ON COMMIT DROP`.execute(tx);
  await sql`CREATE TEMP TABLE batch_winners (${WINNER_COLUMNS}) ON COMMIT DROP`.execute(tx);
  if (dbs.sameDatabase) {
    await sql`
      INSERT INTO batch_results
      SELECT p."userId", cr."challengeId", cr.placement, cr."newRating", ch."trackId", ch."typeId", ch.status, ch."endDate", ch.name, ch."legacyId",
             false
      FROM batch_members p
      JOIN reviews."challengeResult" cr ON cr."userId" = p."userId"::text
      -- joined as text: no cast can fail on a legacy numeric id, and hashing Challenge once beats a check per row
      JOIN challenges."Challenge" ch ON ch.id::text = cr."challengeId"`.execute(tx);
    await sql`
      INSERT INTO batch_winners
      SELECT p."userId", w."challengeId"::text, w.placement, w.type, ch."trackId", ch."typeId", ch.status, ch."endDate", ch.name, ch."legacyId",
             false
      FROM batch_members p
      -- the bounds let the userId index scan start at the batch instead of the table's first row
      JOIN challenges."ChallengeWinner" w ON w."userId" = p."userId"
        AND w."userId" BETWEEN (SELECT min("userId") FROM batch_members) AND (SELECT max("userId") FROM batch_members)
      JOIN challenges."Challenge" ch ON ch.id = w."challengeId"`.execute(tx);
    await analyzeSources(tx);
    await markUnrated(tx);
  } else {
    await copyFromOtherDatabases(tx, dbs); // its rows come marked
    await analyzeSources(tx);
  }
}

async function analyzeSources(tx: Kysely<any>): Promise<void> {
  await sql`ANALYZE batch_results`.execute(tx);
  await sql`ANALYZE batch_winners`.execute(tx);
}

/**
 * Explicitly unrated: looked up once per distinct challenge of the batch (through the metadata's index) into a table
 * of its own, analyzed, then joined. Planned in one statement, the EXISTS was estimated at a row or two and the
 * update became a nested loop over the batch × its unrated challenges (9.5 s a batch on large; 1.3 s now, nearly all
 * of it the metadata probes).
 */
async function markUnrated(tx: Kysely<any>): Promise<void> {
  await sql`
    CREATE TEMP TABLE batch_unrated ON COMMIT DROP AS
    SELECT c."challengeId" FROM (SELECT "challengeId" FROM batch_results UNION SELECT "challengeId" FROM batch_winners) c
    WHERE ${explicitlyUnratedSql(sql`c."challengeId"::uuid`)}`.execute(tx);
  await sql`ANALYZE batch_unrated`.execute(tx);
  for (const table of ['batch_results', 'batch_winners']) {
    await sql`
      UPDATE ${sql.table(table)} x SET unrated = true
      FROM batch_unrated u WHERE x."challengeId" = u."challengeId"`.execute(tx);
  }
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
