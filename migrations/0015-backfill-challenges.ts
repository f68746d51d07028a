import { sql, type Kysely, type Migration } from 'kysely';

/**
 * A backfill run's reading of the Challenge table (store/backfill/challenge-snapshot.ts): what its batches join the
 * members' results and winner rows to, taken once per run instead of looked up again by every batch. Its rows go
 * with the run's (a run begun again with the same options abandons the earlier one).
 */
export const backfillChallenges: Migration = {
  async up(db: Kysely<any>) {
    await sql`
      CREATE TABLE IF NOT EXISTS platform."backfillChallenge" (
        "runKey" TEXT COLLATE "C" NOT NULL,
        id TEXT COLLATE "C" NOT NULL,
        "trackId" UUID NOT NULL,
        "typeId" UUID NOT NULL,
        status TEXT NOT NULL,
        "endDate" TIMESTAMPTZ,
        name TEXT NOT NULL,
        "legacyId" BIGINT,
        unrated BOOLEAN NOT NULL,
        PRIMARY KEY ("runKey", id)
      )`.execute(db);
  },
  async down(db: Kysely<any>) {
    await sql`DROP TABLE IF EXISTS platform."backfillChallenge"`.execute(db);
  },
};
