import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { inject } from 'vitest';
import { parseConfig, type Config } from '../../domain/config';

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function onServer(fn: (admin: Kysely<any>) => Promise<void>): Promise<void> {
  const admin = new Kysely<any>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: inject('pgAdminUrl'), max: 1 }) }),
  });
  try {
    await fn(admin);
  } finally {
    await admin.destroy();
  }
}

/**
 * A fresh, empty database for one test file (dropped first if a crashed run left it). Names carry the process id
 * so parallel forks never share one.
 */
export async function createTestDatabase(label: string): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `cutover_t_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}`;
  // Pool.end() resolves before the server has let its backends go; forcing the drop then would kill them
  // mid-shutdown (an uncaught 57P01 in the test process), so wait for them first.
  const drop = () =>
    onServer(async (admin) => {
      for (let i = 0; i < 100; i++) {
        const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ${name}`.execute(admin);
        if (r.rows[0]?.n === 0) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      await sql`DROP DATABASE IF EXISTS ${sql.id(name)} WITH (FORCE)`.execute(admin);
    });
  await drop();
  await onServer((admin) => sql`CREATE DATABASE ${sql.id(name)}`.execute(admin).then(() => {}));
  return { url: withDatabase(inject('pgAdminUrl'), name), name, drop };
}

/** Config for tests: one database for all three roles unless overridden. */
export function testConfig(url: string, extra: Record<string, string> = {}): Config {
  return parseConfig({ DATABASE_URL: url, LOG_LEVEL: 'silent', ...extra });
}
