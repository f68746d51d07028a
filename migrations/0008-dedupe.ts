import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Phase D5, dedupe, reversibly: each applied run, the history rows it removed exactly as they were (every column of
 * memberStatsHistory, its id included, with the round and the canonical row that made it a duplicate), and the
 * mostRecent flags it moved on surviving rows. Undo puts both back; parity's history-count reads the tombstones of
 * applied runs so a removed duplicate is not a missing row.
 */
export const dedupe: Migration = {
  async up(db: Kysely<any>) {
    await sql`
      CREATE TABLE IF NOT EXISTS platform."dedupeRun" (
        "runId" TEXT PRIMARY KEY,
        status TEXT NOT NULL CHECK (status IN ('applied', 'undone')),
        options JSONB NOT NULL,
        counts JSONB NOT NULL DEFAULT '{}',
        "startedAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "appliedAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "undoneAt" TIMESTAMPTZ
      )`.execute(db);
    // the columns of members."memberStatsHistory" (0001, 0006) with their types; store/dedupe checks they still match
    await sql`
      CREATE TABLE IF NOT EXISTS platform."dedupeTombstone" (
        "runId" TEXT NOT NULL REFERENCES platform."dedupeRun" ("runId") ON DELETE CASCADE,
        round BIGINT NOT NULL,
        "canonicalId" BIGINT NOT NULL,
        "canonicalChallengeId" TEXT NOT NULL,
        id BIGINT NOT NULL,
        "userId" BIGINT NOT NULL,
        "trackId" UUID NOT NULL,
        "typeId" UUID NOT NULL,
        "challengeId" TEXT NOT NULL,
        "challengeName" TEXT,
        "oldRating" INT,
        "newRating" INT,
        "oldVolatility" INT,
        "newVolatility" INT,
        "globalRank" INT,
        "countryRank" INT,
        placement INT,
        percentile DOUBLE PRECISION,
        "eventDate" TIMESTAMPTZ NOT NULL,
        "mostRecent" BOOLEAN NOT NULL,
        "createdBy" TEXT NOT NULL,
        "createdAt" TIMESTAMPTZ NOT NULL,
        "updatedAt" TIMESTAMPTZ NOT NULL,
        "updatedBy" TEXT,
        PRIMARY KEY ("runId", id)
      )`.execute(db);
    // parity looks a legacy challenge up by its history key
    await sql`
      CREATE INDEX IF NOT EXISTS "dedupeTombstone_key"
      ON platform."dedupeTombstone" ("userId", "trackId", "typeId", "challengeId")`.execute(db);
    await sql`
      CREATE TABLE IF NOT EXISTS platform."dedupeMostRecent" (
        "runId" TEXT NOT NULL REFERENCES platform."dedupeRun" ("runId") ON DELETE CASCADE,
        "historyId" BIGINT NOT NULL,
        "userId" BIGINT NOT NULL,
        -- the flag before the dedupe moved it: what undo restores
        "mostRecent" BOOLEAN NOT NULL,
        PRIMARY KEY ("runId", "historyId")
      )`.execute(db);
  },
  async down(db: Kysely<any>) {
    await sql`DROP TABLE IF EXISTS platform."dedupeMostRecent", platform."dedupeTombstone", platform."dedupeRun"`.execute(db);
  },
};
