import { Client } from '@temporalio/client';
import { parseConfig, type Config } from '../domain/config';
import { DB_LIMITS } from '../domain/limits';
import { readSourceEnvWarning } from '../domain/read-source';
import { migrateToLatest } from '../migrations';
import { openDatabases, type Databases } from '../store/db';
import { ensurePostgres, type PostgresHandle } from './postgres';
import { initReadSource } from '../store/read-source';
import { ensureTemporal, type TemporalHandle } from './temporal';

export interface Stack {
  config: Config;
  dbs: Databases;
  postgres: PostgresHandle;
  temporal?: TemporalHandle;
  client?: Client;
  close(): Promise<void>;
}

export type Log = (message: string) => void;
export const stderrLog: Log = (m) => process.stderr.write(`[cutover] ${m}\n`);

/**
 * Brings up (or connects to) what the platform runs on: Postgres (migrated, read source initialised) and, unless
 * `temporal: false`, Temporal with our search attributes. close() stops only what this call started.
 */
export async function bringUp(
  opts: {
    env?: Record<string, string | undefined>;
    config?: Config;
    temporal?: boolean;
    log?: Log;
    /** the worker's connections per database (default DB_LIMITS.workerPool; tests use fewer to prove none is held twice) */
    poolSize?: number;
  } = {},
): Promise<Stack> {
  const log = opts.log ?? stderrLog;
  const parsed = opts.config ?? parseConfig(opts.env ?? process.env);
  const postgres = await ensurePostgres(parsed, log);
  const config = postgres.config;
  const dbs = openDatabases(config, { size: opts.poolSize ?? DB_LIMITS.workerPool });
  const stops: Array<() => Promise<void>> = [() => postgres.stop(), () => dbs.close()];
  const close = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch((e) => log(`shutdown: ${(e as Error).message}`));
  };
  try {
    const applied = await migrateToLatest(dbs.members);
    if (applied.length > 0) log(`migrated: ${applied.join(', ')}`);
    const stored = await initReadSource(dbs.members, config.statsReadSource ?? 'legacy');
    const warning = readSourceEnvWarning(config.statsReadSource, stored);
    if (warning) log(`WARNING: ${warning}`);
    if (opts.temporal === false) return { config, dbs, postgres, close };
    const temporal = await ensureTemporal(config, log);
    stops.push(() => temporal.stop());
    const client = new Client({ connection: temporal.connection, namespace: config.temporal.namespace });
    return { config, dbs, postgres, temporal, client, close };
  } catch (e) {
    await close();
    throw e;
  }
}
