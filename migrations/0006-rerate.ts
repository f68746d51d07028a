import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Phase D: who last changed a unified row (a rerate signs what it rewrites, as the real scripts do:
 * rerate-member-stats, rerate-mm-stats), beside who created it; a rerate run's plan and each chunk it committed
 * (written in the chunk's own transaction), so a retried chunk reports what it wrote and writes nothing again.
 */
export const rerate: Migration = {
  async up(db: Kysely<any>) {
    await sql`ALTER TABLE members."memberStats" ADD COLUMN IF NOT EXISTS "updatedBy" TEXT`.execute(db);
    await sql`ALTER TABLE members."memberStatsHistory" ADD COLUMN IF NOT EXISTS "updatedBy" TEXT`.execute(db);
    await sql`
      CREATE TABLE IF NOT EXISTS platform."rerateRun" (
        "runKey" TEXT PRIMARY KEY,
        stream TEXT NOT NULL,
        plan JSONB NOT NULL,
        status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done')),
        "startedAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "finishedAt" TIMESTAMPTZ
      )`.execute(db);
    await sql`
      CREATE TABLE IF NOT EXISTS platform."rerateChunk" (
        "runKey" TEXT NOT NULL REFERENCES platform."rerateRun" ("runKey") ON DELETE CASCADE,
        chunk INT NOT NULL,
        result JSONB NOT NULL,
        "committedAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY ("runKey", chunk)
      )`.execute(db);
  },
  async down(db: Kysely<any>) {
    await sql`DROP TABLE IF EXISTS platform."rerateChunk"`.execute(db);
    await sql`DROP TABLE IF EXISTS platform."rerateRun"`.execute(db);
    await sql`ALTER TABLE members."memberStatsHistory" DROP COLUMN IF EXISTS "updatedBy"`.execute(db);
    await sql`ALTER TABLE members."memberStats" DROP COLUMN IF EXISTS "updatedBy"`.execute(db);
  },
};
