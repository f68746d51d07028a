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
