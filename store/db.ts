import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Config } from '../domain/config';
import { DB_LIMITS } from '../domain/limits';

// BIGINT → number: user ids and counts fit well inside 2^53 on this platform; NUMERIC stays string.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface Databases {
  /** members DB: legacy member stats (source), unified stats and the platform schema (ours) */
  members: Kysely<any>;
  challenges: Kysely<any>;
  reviews: Kysely<any>;
  /** raw pools, for COPY; same connections kysely uses */
  pools: { members: pg.Pool; challenges: pg.Pool; reviews: pg.Pool };
  /** true when all three URLs name the same database: cross-schema joins are then possible */
  sameDatabase: boolean;
  close(): Promise<void>;
}

export interface PoolOptions {
  /** connections per database (default 10) */
  size?: number;
  /** how long a query waits for a free connection before its attempt fails (ms) */
  acquireTimeoutMs?: number;
  /** shows in pg_stat_activity (`cutover`, `cutover-api`): who holds which connections */
  name?: string;
  /** a query with no answer this long fails (a database cut off by the network never answers) */
  queryTimeoutMs?: number;
}

export function openDatabases(
  config: Pick<Config, 'databaseUrl' | 'challengesDbUrl' | 'reviewDbUrl'>,
  opts: number | PoolOptions = {},
): Databases {
  const {
    size = 10,
    acquireTimeoutMs = DB_LIMITS.acquireTimeoutMs,
    name = 'cutover',
    queryTimeoutMs,
  } = typeof opts === 'number' ? { size: opts } : opts;
  const cache = new Map<string, { pool: pg.Pool; db: Kysely<any> }>();
  const open = (url: string) => {
    let entry = cache.get(url);
    if (!entry) {
      // a full pool makes a caller wait, never hang: after acquireTimeoutMs its attempt fails (and is retried)
      const pool = new pg.Pool({
        connectionString: url,
        max: size,
        connectionTimeoutMillis: acquireTimeoutMs,
        application_name: name,
        // a batch's temp tables (tens of MB on large) stay in memory instead of the default 8 MB spilling to disk;
        // allocated only as a session uses it
        options: '-c temp_buffers=128MB',
        ...(queryTimeoutMs ? { query_timeout: queryTimeoutMs } : {}),
      });
      // A lost connection (database restart, failover, an idle-session reaper, pg_terminate_backend) must fail the
      // query or attempt using it, never the process: pg emits 'error' on idle pooled clients (the pool) and on
      // checked-out clients between queries (the client), and an unhandled 'error' event kills Node.
      const lost = (e: Error) => process.stderr.write(`[cutover] database connection lost (${e.message}); it is replaced on next use\n`);
      pool.on('error', lost);
      pool.on('connect', (client) => client.on('error', lost));
      entry = { pool, db: new Kysely<any>({ dialect: new PostgresDialect({ pool }) }) };
      cache.set(url, entry);
    }
    return entry;
  };
  const m = open(config.databaseUrl);
  const c = open(config.challengesDbUrl);
  const r = open(config.reviewDbUrl);
  return {
    members: m.db,
    challenges: c.db,
    reviews: r.db,
    pools: { members: m.pool, challenges: c.pool, reviews: r.pool },
    sameDatabase: cache.size === 1,
    async close() {
      // destroying kysely ends its pool
      await Promise.all([...cache.values()].map((e) => e.db.destroy()));
    },
  };
}
