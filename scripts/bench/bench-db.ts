import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { dropDatabase, onServer } from '../../lib/postgres';
import { parseConfig, type Config } from '../../domain/config';
import { bringUp, stderrLog, type Stack } from '../../lib/stack';
import { runSeed, type SeedSize } from '../seed/index';

/**
 * The benchmarks' own database, cutover_bench (never the operator's), on the configured server, seeded once per
 * size with a fixed seed so every bench of a size measures the same dataset.
 */

const BENCH_SEED = 1;

/**
 * Config for a database of our own (`name`) on the server DATABASE_URL names, playing all three roles; ours to
 * create: databaseDefaulted lets the bring-up create it (or fall back to embedded Postgres). Benches and the chaos suite.
 */
export function ownDatabaseConfig(name: string, env: Record<string, string | undefined> = {}): Config {
  const url = new URL(parseConfig(process.env).databaseUrl);
  url.pathname = `/${name}`;
  const config = parseConfig({
    ...process.env,
    DATABASE_URL: url.toString(),
    CHALLENGES_DB_URL: undefined,
    CHALLENGE_DB_URL: undefined,
    REVIEW_DB_URL: undefined,
    ...env,
  });
  return { ...config, databaseDefaulted: true };
}

export async function openBenchStack(size: SeedSize, opts: { temporal?: boolean } = {}): Promise<Stack> {
  const stack = await bringUp({ config: ownDatabaseConfig('cutover_bench'), temporal: opts.temporal });
  try {
    await ensureSeeded(stack, size);
    return stack;
  } catch (e) {
    await stack.close();
    throw e;
  }
}

async function ensureSeeded(stack: Stack, size: SeedSize): Promise<void> {
  const r = await sql<{ value: { size: string; seed: number } }>`SELECT value FROM platform.checkpoint WHERE key = 'bench:seed'`.execute(
    stack.dbs.members,
  );
  const v = r.rows[0]?.value;
  if (v?.size === size && v.seed === BENCH_SEED) return;
  stderrLog(`seeding ${size} into the bench database`);
  await runSeed(stack.dbs, { size, seed: BENCH_SEED, log: () => {} });
  await sql`INSERT INTO platform.checkpoint (key, value) VALUES ('bench:seed', ${JSON.stringify({ size, seed: BENCH_SEED })}::jsonb)
            ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "updatedAt" = now()`.execute(stack.dbs.members);
}

/**
 * Benches that change their database work on a copy: the seed is made once per size into a template database
 * (cutover_bench_<size>_seed, vacuumed and analyzed like a live platform's tables) and copied (CREATE DATABASE …
 * TEMPLATE, a file copy, not timed) for each run. The template for `size` is made once (its checkpoint says which
 * seed it holds).
 */
export async function ensureTemplate(size: SeedSize): Promise<{ name: string; seedSeconds: number | null }> {
  const name = `cutover_bench_${size}_seed`;
  const stack = await bringUp({ config: ownDatabaseConfig(name), temporal: false, log: () => {} });
  try {
    const r = await sql<{ value: { size: string; seed: number } }>`SELECT value FROM platform.checkpoint WHERE key = 'bench:seed'`.execute(
      stack.dbs.members,
    );
    if (r.rows[0]?.value.size === size && r.rows[0].value.seed === BENCH_SEED) return { name, seedSeconds: null };
    stderrLog(`seeding ${size} into ${name} (once; later runs copy it)`);
    const t = performance.now();
    await runSeed(stack.dbs, { size, seed: BENCH_SEED, log: stderrLog });
    await sql`VACUUM ANALYZE`.execute(stack.dbs.members);
    await sql`INSERT INTO platform.checkpoint (key, value) VALUES ('bench:seed', ${JSON.stringify({ size, seed: BENCH_SEED })}::jsonb)
              ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "updatedAt" = now()`.execute(stack.dbs.members);
    return { name, seedSeconds: (performance.now() - t) / 1000 };
  } finally {
    await stack.close();
  }
}

export async function freshCopy(
  template: string,
  copy: string,
  opts: { temporal?: boolean } = {},
): Promise<{ stack: Stack; copySeconds: number }> {
  const config = ownDatabaseConfig(copy);
  const t = performance.now();
  await dropDatabase(config.databaseUrl);
  await onServer(config.databaseUrl, async (admin) => {
    // a file copy (not the default of writing the whole database to WAL), then a checkpoint: the timed run must
    // not start under the write-back of the copy
    await sql`CREATE DATABASE ${sql.id(copy)} TEMPLATE ${sql.id(template)} STRATEGY FILE_COPY`.execute(admin);
    await sql`CHECKPOINT`.execute(admin);
  });
  const copySeconds = (performance.now() - t) / 1000;
  return { stack: await bringUp({ config, log: () => {}, temporal: opts.temporal }), copySeconds };
}
