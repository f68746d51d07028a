import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Phase D's preview: a rerate run may write into a shadow table instead of the unified history, with the
 * fingerprints of the source it was computed from (so `rerate promote` can refuse when the source moved) and its
 * diff; promote applies exactly those rows, discard drops them.
 */
export const reratePreview: Migration = {
  async up(db: Kysely<any>) {
    await sql`ALTER TABLE platform."rerateRun" ADD COLUMN IF NOT EXISTS preview BOOLEAN NOT NULL DEFAULT false`.execute(db);
    await sql`ALTER TABLE platform."rerateRun" ADD COLUMN IF NOT EXISTS source JSONB`.execute(db);
    await sql`ALTER TABLE platform."rerateRun" ADD COLUMN IF NOT EXISTS diff JSONB`.execute(db);
    await sql`ALTER TABLE platform."rerateRun" ADD COLUMN IF NOT EXISTS outcome JSONB`.execute(db);
    await sql`ALTER TABLE platform."rerateRun" DROP CONSTRAINT IF EXISTS "rerateRun_status_check"`.execute(db);
    await sql`
      ALTER TABLE platform."rerateRun" ADD CONSTRAINT "rerateRun_status_check"
      CHECK (status IN ('running', 'done', 'previewed', 'promoted', 'discarded'))`.execute(db);
    await sql`
      CREATE TABLE IF NOT EXISTS platform."reratePreviewRow" (
        "runKey" TEXT NOT NULL REFERENCES platform."rerateRun" ("runKey") ON DELETE CASCADE,
        "userId" BIGINT NOT NULL,
        "challengeId" TEXT NOT NULL,
        "legacyId" TEXT,
        "challengeName" TEXT,
        "oldRating" INT,
        "newRating" INT,
        "oldVolatility" INT,
        "newVolatility" INT,
        placement INT,
        percentile DOUBLE PRECISION,
        "eventDate" TIMESTAMPTZ NOT NULL,
        PRIMARY KEY ("runKey", "userId", "challengeId")
      )`.execute(db);
  },
  async down(db: Kysely<any>) {
    await sql`DROP TABLE IF EXISTS platform."reratePreviewRow"`.execute(db);
    await sql`ALTER TABLE platform."rerateRun" DROP CONSTRAINT IF EXISTS "rerateRun_status_check"`.execute(db);
    await sql`ALTER TABLE platform."rerateRun" ADD CONSTRAINT "rerateRun_status_check" CHECK (status IN ('running', 'done'))`.execute(db);
    for (const c of ['outcome', 'diff', 'source', 'preview'])
      await sql`ALTER TABLE platform."rerateRun" DROP COLUMN IF EXISTS ${sql.id(c)}`.execute(db);
  },
};
