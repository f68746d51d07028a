import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Phase A's durable progress: one row per run (its options' resume key and its plan), one per batch that
 * committed (written in the batch's own transaction, with what it wrote). A restarted run with the same options
 * skips the committed batches; a retried batch whose commit was already recorded returns what it recorded.
 */
export const backfillCheckpoints: Migration = {
  async up(db: Kysely<any>) {
    await sql`
      CREATE TABLE IF NOT EXISTS platform."backfillRun" (
        "runKey" TEXT PRIMARY KEY,
        "resumeKey" TEXT NOT NULL,
        plan JSONB NOT NULL,
        status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'abandoned')),
        "startedAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "finishedAt" TIMESTAMPTZ
      )`.execute(db);
    await sql`
      CREATE INDEX IF NOT EXISTS "backfillRun_unfinished" ON platform."backfillRun" ("resumeKey") WHERE status = 'running'`.execute(db);
    await sql`
      CREATE TABLE IF NOT EXISTS platform."backfillCheckpoint" (
        "runKey" TEXT NOT NULL REFERENCES platform."backfillRun" ("runKey") ON DELETE CASCADE,
        "rangeStart" BIGINT NOT NULL,
        "rangeEnd" BIGINT NOT NULL,
        result JSONB NOT NULL,
        "committedAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY ("runKey", "rangeStart")
      )`.execute(db);
  },
  async down(db: Kysely<any>) {
    await sql`DROP TABLE IF EXISTS platform."backfillCheckpoint"`.execute(db);
    await sql`DROP TABLE IF EXISTS platform."backfillRun"`.execute(db);
  },
};
