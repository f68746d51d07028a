import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompiledQuery, type Kysely } from 'kysely';

/**
 * Phase F's report queries, kept as SQL files (sql/) so an operator can read and run them as the runbook names them.
 * Read once, when the module loads: a missing file stops the worker at start, not a run halfway. __dirname is this
 * source folder under tsx, vitest and the worker alike (activities are not bundled).
 */
const load = (name: string) => readFileSync(join(__dirname, 'sql', `${name}.sql`), 'utf8');

export const REPORT_SQL = {
  marathonUnified: load('marathon-stats.unified'),
  marathonLegacy: load('marathon-stats.legacy'),
  recentUnified: load('recent-members.unified'),
  recentLegacy: load('recent-members.legacy'),
} as const;

/** One report query with its parameters bound ($1, $2, …): never spliced into the text. */
export async function runReportSql<R>(db: Kysely<any>, text: string, params: unknown[]): Promise<R[]> {
  const r = await db.executeQuery<R>(CompiledQuery.raw(text, params));
  return r.rows;
}
