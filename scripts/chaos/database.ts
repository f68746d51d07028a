import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { ownDatabaseConfig } from '../bench/bench-db';
import { bringUp, type Stack } from '../../lib/stack';
import { runSeed, type SeedSize } from '../seed/index';

/** The chaos suite's database: its own (cutover_chaos, never the operator's), seeded once per size and seed. */

export const CHAOS_DATABASE = 'cutover_chaos';
/** The product's pools say 'cutover'; ours says otherwise so the Postgres faults hit the product, not the harness. */
export const HARNESS_APPLICATION = 'cutover-chaos';

/** Brings up cutover_chaos on the server of DATABASE_URL (default 127.0.0.1:5432, or embedded), migrated and seeded. */
export async function openChaosStack(size: SeedSize, seed: number, log: (m: string) => void): Promise<Stack> {
  const config = ownDatabaseConfig(CHAOS_DATABASE, { TEMPORAL_ADDRESS: undefined });
  const stack = await bringUp({ config, temporal: false, log });
  try {
    await seedOnce(stack, size, seed, log);
    return stack;
  } catch (e) {
    await stack.close();
    throw e;
  }
}

/** Seeds unless the database already holds this size and seed (the seed replaces only the source tables). */
export async function seedOnce(stack: Stack, size: SeedSize, seed: number, log: (m: string) => void): Promise<void> {
  const r = await sql<{ value: { size: string; seed: number } }>`SELECT value FROM platform.checkpoint WHERE key = 'chaos:seed'`.execute(
    stack.dbs.members,
  );
  const v = r.rows[0]?.value;
  if (v?.size === size && v.seed === seed) return;
  log(`seeding ${size} (seed ${seed}) into ${stack.config.databaseUrl.replace(/\/\/[^@]*@/, '//')}`);
  await runSeed(stack.dbs, { size, seed, log: () => {} });
  await sql`INSERT INTO platform.checkpoint (key, value) VALUES ('chaos:seed', ${JSON.stringify({ size, seed })}::jsonb)
            ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "updatedAt" = now()`.execute(stack.dbs.members);
}

/** The harness's own small pool: it must outlive every fault it injects. */
export function harnessDb(url: string): Kysely<any> {
  const pool = new pg.Pool({ connectionString: url, max: 3, application_name: HARNESS_APPLICATION });
  pool.on('error', () => {});
  pool.on('connect', (c) => c.on('error', () => {}));
  return new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
}
