import { sql, type Kysely } from 'kysely';

/** The unified tables the phases write in bulk. */
export const UNIFIED_TABLES = ['memberStats', 'memberStatsHistory', 'memberMaxRating'] as const;

/**
 * Planner statistics refreshed for the tables a bulk write has changed by more than `share` since their last
 * ANALYZE (or that were never analyzed). Autovacuum gets there eventually, or never where it is off; until then a
 * freshly loaded table looks empty to the planner, which joins it by nested loops over sequential scans: a rerate
 * chunk right after the backfill took 30 s instead of a tenth of one. Returns the tables analyzed.
 */
export async function analyzeStale(
  db: Kysely<any>,
  tables: readonly string[] = UNIFIED_TABLES,
  schema = 'members',
  share = 0.1,
): Promise<string[]> {
  const r = await sql<{ relname: string }>`
    SELECT relname FROM pg_stat_user_tables
    WHERE schemaname = ${schema} AND relname = ANY(${[...tables]}::text[])
      AND (n_mod_since_analyze > ${share}::float8 * n_live_tup + 1000
           OR (last_analyze IS NULL AND last_autoanalyze IS NULL AND n_live_tup > 0))`.execute(db);
  for (const { relname } of r.rows) await sql`ANALYZE ${sql.id(schema, relname)}`.execute(db);
  return r.rows.map((x) => x.relname);
}

/**
 * analyzeStale while a bulk write is still growing the tables (between a backfill's batches): the tables have grown
 * by half since their last ANALYZE. Whatever else reads them meanwhile — refreshes, the sequencer's rerates, the read
 * API — otherwise plans against the near-empty tables they were at the run's start (a refresh's stats update took
 * 2.7 s instead of 0.3 on the large seed). One caller at a time (a transaction-scoped try-lock: a batch that finds
 * another analyzing goes on); each ANALYZE reads a sample, so this costs a few dozen of them over a run.
 */
export async function analyzeGrown(db: Kysely<any>): Promise<string[]> {
  return db.transaction().execute(async (tx) => {
    const got = await sql<{ ok: boolean }>`SELECT pg_try_advisory_xact_lock(hashtext('cutover:analyze')) AS ok`.execute(tx);
    return got.rows[0]?.ok ? analyzeStale(tx, UNIFIED_TABLES, 'members', 0.5) : [];
  });
}
