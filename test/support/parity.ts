import type { Client } from '@temporalio/client';
import { sql, type Kysely } from 'kysely';
import { PARITY_CATEGORIES, type ParityCategory, type ParityOptions } from '../../domain/parity';
import type { ParityResult } from '../../workflows/parity/workflow';
import { Parity } from '../../workflows/parity/messages';

let seq = 0;
export async function runTestParity(
  client: Client,
  taskQueue: string,
  options: Partial<ParityOptions> & Pick<ParityOptions, 'mode'>,
): Promise<ParityResult> {
  return await client.workflow.execute(Parity, {
    taskQueue,
    workflowId: `test/parity/${process.pid}/${Date.now()}/${seq++}`,
    args: [{ examples: 50, shapeSamples: 20, ...options }],
  });
}

export const counts = (r: ParityResult): Record<ParityCategory, number> =>
  Object.fromEntries(PARITY_CATEGORIES.map((c) => [c, r.categories[c].count])) as Record<ParityCategory, number>;

/** Every category 0 except the ones given. */
export const only = (expected: Partial<Record<ParityCategory, number>>): Record<ParityCategory, number> =>
  Object.fromEntries(PARITY_CATEGORIES.map((c) => [c, expected[c] ?? 0])) as Record<ParityCategory, number>;

/** The members a seed samples first (the sampled run's members, and the response-shape members of any run). */
export async function seededMembers(db: Kysely<any>, seed: string, n: number): Promise<number[]> {
  const r = await sql<{
    userId: number;
  }>`SELECT "userId" FROM members."member" ORDER BY md5(${seed} || ':' || "userId"::text), "userId" LIMIT ${n}`.execute(db);
  return r.rows.map((x) => x.userId);
}

/** One value from a query that must find something (fault targets). */
export async function one<T>(db: Kysely<any>, query: ReturnType<typeof sql<T>>): Promise<T> {
  const r = await query.execute(db);
  if (!r.rows[0]) throw new Error('fault target not found in the seeded data');
  return r.rows[0];
}
