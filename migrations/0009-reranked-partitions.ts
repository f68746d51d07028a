import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Ranks the platform computes. Legacy's Marathon Match ranks are preserved by the backfill (they counted active
 * members only) until an operator's rerate re-ranks the partition; from then on its ranks are ours, and a later
 * backfill must carry and recompute them rather than bring legacy's back.
 */
export const rerankedPartitions: Migration = {
  async up(db: Kysely<any>) {
    await sql`
      CREATE TABLE IF NOT EXISTS platform."rerankedPartition" (
        "trackId" UUID NOT NULL,
        "typeId" UUID NOT NULL,
        "rerankedBy" TEXT NOT NULL,
        since TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY ("trackId", "typeId")
      )`.execute(db);
  },
  async down(db: Kysely<any>) {
    await sql`DROP TABLE IF EXISTS platform."rerankedPartition"`.execute(db);
  },
};
