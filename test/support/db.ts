import pg from 'pg';
import { parseConfig, type Config } from '../../domain/config';

/** The Postgres server tests use: TEST_PG_URL's server, else the local one at 127.0.0.1:5432. */
const ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * A fresh, empty database for one test file (dropped first if a crashed run left it). Names are per file and
 * per process so parallel forks never share one.
 */
export async function createTestDatabase(label: string): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `cutover_t_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(ADMIN_URL, name),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Config for tests: one database for all three roles unless overridden. */
export function testConfig(url: string, extra: Record<string, string> = {}): Config {
  return parseConfig({ DATABASE_URL: url, LOG_LEVEL: 'silent', ...extra });
}
