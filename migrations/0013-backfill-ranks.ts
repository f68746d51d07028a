import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Whether a backfill run re-ranks the computed partitions when its last batch is in. While such a run goes on, a
 * live rating leaves the partition's ranks to it (store/backfill/ranks.ts): every re-rank during a backfill rewrites
 * nearly every rank, as each batch adds rated members, and the run's end re-ranks it all once more anyway.
 */
export const backfillRanks: Migration = {
  async up(db: Kysely<any>) {
    await sql`ALTER TABLE platform."backfillRun" ADD COLUMN IF NOT EXISTS "ranksAtEnd" BOOLEAN NOT NULL DEFAULT false`.execute(db);
  },
  async down(db: Kysely<any>) {
    await sql`ALTER TABLE platform."backfillRun" DROP COLUMN IF EXISTS "ranksAtEnd"`.execute(db);
  },
};
