import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabases, type Databases } from '../store/db';
import { createTestDatabase, testConfig } from './support/db';

/**
 * A database restart, failover or idle-session reaper drops our connections. The process must survive it: the
 * query or transaction using the connection fails, the next one gets a fresh connection.
 */
describe('a lost database connection', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let dbs: Databases;
  let admin: Databases;
  beforeAll(async () => {
    db = await createTestDatabase('lostconn');
    dbs = openDatabases(testConfig(db.url));
    admin = openDatabases(testConfig(db.url), 1);
  });
  afterAll(async () => {
    await dbs?.close();
    await admin?.close();
    await db?.drop();
  });

  const terminateOurs = () =>
    sql`SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()`.execute(admin.members);

  it('idle pooled connections and a connection held idle in a transaction are terminated: the process lives on and recovers', async () => {
    await Promise.all(Array.from({ length: 4 }, () => sql`SELECT pg_sleep(0.05)`.execute(dbs.members))); // warm several idle clients
    let holdRelease!: () => void;
    const held = new Promise<void>((r) => (holdRelease = r));
    const tx = dbs.members
      .transaction()
      .execute(async (t) => {
        await sql`SELECT 1`.execute(t);
        await held; // idle in transaction while the backend goes away
        await sql`SELECT 1`.execute(t);
      })
      .then(
        () => 'committed',
        (e: Error) => `failed: ${e.message}`,
      );
    await new Promise((r) => setTimeout(r, 100));
    const killed = (await terminateOurs()).rows[0] as { n: number };
    expect(killed.n).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 200)); // the 'error' events arrive; an unhandled one would end this process here
    holdRelease();
    expect(await tx).toMatch(/^failed: /);
    const r = await sql<{ ok: number }>`SELECT 1 AS ok`.execute(dbs.members);
    expect(r.rows[0]!.ok).toBe(1);
  });
});
