import { sql, type Kysely, type Migration } from 'kysely';

/**
 * The read API's recent latency, one row per API process, refreshed every second or so: the signal long phases
 * throttle on (domain/throttle.ts). Rows of processes that stopped simply age out of the window readers use.
 */
export const readLatency: Migration = {
  async up(db: Kysely<any>) {
    await sql`
      CREATE TABLE IF NOT EXISTS platform."readLatency" (
        instance TEXT PRIMARY KEY,
        "p50Ms" REAL NOT NULL,
        "p99Ms" REAL NOT NULL,
        samples INTEGER NOT NULL,
        "updatedAt" TIMESTAMPTZ NOT NULL DEFAULT now()
      )`.execute(db);
  },
  async down(db: Kysely<any>) {
    await sql`DROP TABLE IF EXISTS platform."readLatency"`.execute(db);
  },
};
