import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Phase D: who last changed a unified row (a rerate signs what it rewrites, as the real scripts do:
 * rerate-member-stats, rerate-mm-stats), beside who created it.
 */
export const rerate: Migration = {
  async up(db: Kysely<any>) {
    await sql`ALTER TABLE members."memberStats" ADD COLUMN IF NOT EXISTS "updatedBy" TEXT`.execute(db);
    await sql`ALTER TABLE members."memberStatsHistory" ADD COLUMN IF NOT EXISTS "updatedBy" TEXT`.execute(db);
  },
  async down(db: Kysely<any>) {
    await sql`ALTER TABLE members."memberStatsHistory" DROP COLUMN IF EXISTS "updatedBy"`.execute(db);
    await sql`ALTER TABLE members."memberStats" DROP COLUMN IF EXISTS "updatedBy"`.execute(db);
  },
};
