import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Legacy read counter of the member stats API: one row per route per UTC day, incremented by upsert. The proof,
 * before the legacy path is removed, that nothing reads it any more. IF NOT EXISTS: tests create it before the
 * migration is registered.
 */
export const legacyReads: Migration = {
  async up(db: Kysely<any>) {
    await sql`
      CREATE TABLE IF NOT EXISTS platform."legacyRead" (
        route TEXT NOT NULL,
        day DATE NOT NULL,
        count BIGINT NOT NULL DEFAULT 0,
        "lastReadAt" TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (route, day)
      )`.execute(db);
  },
  async down(db: Kysely<any>) {
    await sql`DROP TABLE IF EXISTS platform."legacyRead"`.execute(db);
  },
};
