import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabases, type Databases } from '../store/db';
import { startApi, type RunningApi } from '../api/server';
import { watchReadSource, type ReadSourceReader } from '../store/read-source';
import { ALICE, fixtureDatabase, type Fixture } from './api-fixtures';
import { createTestDatabase, testConfig } from './support/db';
import { dbProxy, type DbProxy } from './support/proxy';

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

describe('the API while its database goes away', () => {
  let fx: Fixture;
  let proxy: DbProxy;
  let apiDbs: Databases;
  let reader: ReadSourceReader;
  let api: RunningApi;
  beforeAll(async () => {
    fx = await fixtureDatabase('lostconn_api');
    proxy = await dbProxy(fx.url);
    apiDbs = openDatabases(testConfig(proxy.url), { size: 4, acquireTimeoutMs: 3000, name: 'cutover-api' });
    reader = await watchReadSource(fx.dbs.members, { onError: () => {} });
    api = await startApi({ dbs: apiDbs, readSource: reader, port: 0 });
  });
  afterAll(async () => {
    await api?.close();
    reader?.close();
    await apiDbs?.close();
    await proxy?.close();
    await fx?.close();
  });

  const get = async (path: string) => {
    const r = await fetch(`${api.url}${path}`);
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  const stats = `/members/${ALICE.handle}/stats`;

  it('answers 503 in the documented shape while the database is down, and 200 again by itself once it is back', async () => {
    expect((await get(stats)).status).toBe(200);
    await proxy.down();
    const t0 = Date.now();
    expect(await get('/members/health')).toMatchObject({ status: 503, body: { status: 'unavailable', db: 'unreachable' } });
    expect(await get(stats)).toEqual({
      status: 503,
      body: { error: 'unavailable', message: 'the member database is unavailable; retry shortly' },
    });
    expect(Date.now() - t0).toBeLessThan(5000); // answered, not left hanging
    await proxy.up();
    expect((await get(stats)).status).toBe(200);
    expect((await get('/members/health')).status).toBe(200);
  });

  it('a database refusing connections (55000, as during a maintenance window) is an outage: 503, then 200 by itself', async () => {
    const name = new URL(fx.url).pathname.slice(1);
    const admin = openDatabases(testConfig(inject('pgAdminUrl')), 1); // a database cannot refuse its own sessions
    try {
      await sql`ALTER DATABASE ${sql.id(name)} ALLOW_CONNECTIONS false`.execute(admin.members);
      await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${name} AND application_name = 'cutover-api'`.execute(
        admin.members,
      );
      expect((await get(stats)).status).toBe(503);
    } finally {
      await sql`ALTER DATABASE ${sql.id(name)} ALLOW_CONNECTIONS true`.execute(admin.members);
      await admin.close();
    }
    expect((await get(stats)).status).toBe(200);
  });

  it('connections dropped under requests in flight: those requests get 503 (never 500), the next ones 200', async () => {
    const statuses: number[] = [];
    let stop = false;
    const clients = Array.from({ length: 6 }, async () => {
      while (!stop) statuses.push((await get(stats)).status);
    });
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 150));
      proxy.cut();
    }
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(clients);
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(10);
    expect(statuses).toContain(503); // some requests really were mid-query when their connection went
    expect((await get(stats)).status).toBe(200);
  });
});
