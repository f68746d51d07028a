import { sql, type Kysely } from 'kysely';
import type { Databases } from '../../lib/db';
import type { SourceRelations } from './backfill';

/**
 * When the challenges and review databases are separate, the batch's slice of them is copied into temp tables on
 * the members connection, so the one set-based SQL of the backfill runs unchanged. Reads are by indexed keys:
 * challengeResult and ChallengeWinner by userId, Challenge by id.
 */
export async function preloadSources(tx: Kysely<any>, dbs: Databases): Promise<SourceRelations> {
  const ids = (await sql<{ userId: number }>`SELECT "userId" FROM batch_members`.execute(tx)).rows.map((r) => r.userId);
  const results = await sql<{ challengeId: string; userId: string; placement: number | null; newRating: number | null }>`
    SELECT "challengeId", "userId", placement, "newRating" FROM reviews."challengeResult"
    WHERE "userId" = ANY(${ids.map(String)}::text[])`.execute(dbs.reviews);
  const winners = await sql<{ challengeId: string; userId: number; placement: number; type: string }>`
    SELECT "challengeId"::text AS "challengeId", "userId", placement, type FROM challenges."ChallengeWinner"
    WHERE "userId" = ANY(${ids}::int[])`.execute(dbs.challenges);
  const challengeIds = [...new Set([...results.rows.map((r) => r.challengeId), ...winners.rows.map((w) => w.challengeId)])].filter((id) =>
    /^[0-9a-f-]{36}$/i.test(id),
  );
  const challenges = await sql<{ id: string; name: string; trackId: string; typeId: string; status: string; legacyId: number | null; endDate: Date | null }>`
    SELECT id::text AS id, name, "trackId"::text AS "trackId", "typeId"::text AS "typeId", status, "legacyId", "endDate"
    FROM challenges."Challenge" WHERE id = ANY(${challengeIds}::uuid[])`.execute(dbs.challenges);

  const col = <T, K extends keyof T>(rows: T[], k: K) => rows.map((r) => r[k]);
  await sql`
    CREATE TEMP TABLE src_challenge_result ON COMMIT DROP AS
    SELECT * FROM unnest(${col(results.rows, 'challengeId')}::text[], ${col(results.rows, 'userId')}::text[],
                         ${col(results.rows, 'placement')}::int[], ${col(results.rows, 'newRating')}::int[])
      AS t("challengeId", "userId", placement, "newRating")`.execute(tx);
  await sql`
    CREATE TEMP TABLE src_challenge_winner ON COMMIT DROP AS
    SELECT * FROM unnest(${col(winners.rows, 'challengeId')}::uuid[], ${col(winners.rows, 'userId')}::int[],
                         ${col(winners.rows, 'placement')}::int[], ${col(winners.rows, 'type')}::text[])
      AS t("challengeId", "userId", placement, type)`.execute(tx);
  await sql`
    CREATE TEMP TABLE src_challenge ON COMMIT DROP AS
    SELECT * FROM unnest(${col(challenges.rows, 'id')}::uuid[], ${col(challenges.rows, 'name')}::text[],
                         ${col(challenges.rows, 'trackId')}::uuid[], ${col(challenges.rows, 'typeId')}::uuid[],
                         ${col(challenges.rows, 'status')}::text[], ${col(challenges.rows, 'legacyId')}::bigint[],
                         ${col(challenges.rows, 'endDate')}::timestamptz[])
      AS t(id, name, "trackId", "typeId", status, "legacyId", "endDate")`.execute(tx);
  await sql`CREATE INDEX ON src_challenge (id); CREATE INDEX ON src_challenge_result ("userId")`.execute(tx);
  return {
    challengeResult: sql`pg_temp.src_challenge_result`,
    challenge: sql`pg_temp.src_challenge`,
    winner: sql`pg_temp.src_challenge_winner`,
  };
}
