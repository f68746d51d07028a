import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunningApi } from '../api/server';
import { CONCURRENCY } from '../domain/limits';
import { bringUp, type Stack } from '../lib/stack';
import { runSeed } from '../scripts/seed/index';
import { openDatabases } from '../store/db';
import { startApiForStack } from '../scripts/commands/serve';
import { runWorker, type RunningWorker } from '../workers/run';
import { backfillProgress } from '../workflows/backfill/messages';
import { startTestBackfill, unifiedChecksum } from './support/backfill';
import { createTestDatabase, testConfig } from './support/db';
import { uniqueTaskQueue, workflowBundle } from './support/stack';

/**
 * Issue 14: `--concurrency 10` used to deadlock a 10-connection pool (every batch holding a connection while
 * waiting for a second), and the co-hosted API answered 503 meanwhile. Here the worker gets a pool of 3 and the
 * highest accepted concurrency: each batch must hold one connection at a time, and the API, on its own pool,
 * keeps answering.
 */
describe('the highest accepted concurrency on a small pool', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let stack: Stack;
  let worker: RunningWorker;
  let api: RunningApi;
  let taskQueue: string;
  beforeAll(async () => {
    db = await createTestDatabase('backfill_concurrency');
    stack = await bringUp({ config: testConfig(db.url, { TEMPORAL_ADDRESS: inject('temporalAddress') }), log: () => {}, poolSize: 3 });
    const seeding = openDatabases(testConfig(db.url)); // the seed loads tables in parallel: more than 3 connections
    await runSeed(seeding, { size: 'small', seed: 11 }).finally(() => seeding.close());
    taskQueue = uniqueTaskQueue('concurrency');
    worker = await runWorker(stack, { taskQueue, workflowBundle: await workflowBundle() });
    api = await startApiForStack(stack, { port: 0, log: () => {} });
  });
  afterAll(async () => {
    await api?.close();
    await worker?.stop();
    await stack?.close();
    await db?.drop();
  });

  it('completes with every member, the same tables as concurrency 1, and the API answering throughout', async () => {
    const reference = await startTestBackfill(stack.client!, taskQueue, { concurrency: 1, batchSize: 60 });
    await reference.result();
    const expected = await unifiedChecksum(stack.dbs.members);
    await sql`TRUNCATE members."memberStats", members."memberStatsHistory", members."memberMaxRating"`.execute(stack.dbs.members);

    const h = await startTestBackfill(stack.client!, taskQueue, { concurrency: CONCURRENCY.max, batchSize: 30, restart: true });
    const handle = (await sql<{ handle: string }>`SELECT handle FROM members."member" ORDER BY "userId" LIMIT 1`.execute(stack.dbs.members))
      .rows[0]!.handle;
    const statuses: number[] = [];
    let peakInFlight = 0;
    let done = false;
    const result = h.result().finally(() => (done = true));
    while (!done) {
      const [health, stats] = await Promise.all([fetch(`${api.url}/members/health`), fetch(`${api.url}/members/${handle}/stats`)]);
      statuses.push(health.status, stats.status);
      const p = await h.query(backfillProgress).catch(() => undefined);
      if (p) peakInFlight = Math.max(peakInFlight, p.inFlight);
      await new Promise((r) => setTimeout(r, 100));
    }
    const r = await result;

    const members = await sql<{ n: number }>`SELECT count(*)::int AS n FROM members."member"`.execute(stack.dbs.members);
    expect(r.totals.members).toBe(members.rows[0]!.n);
    expect(r.options.concurrency).toBe(CONCURRENCY.max);
    expect(peakInFlight).toBeGreaterThan(3); // more batches in flight than the pool has connections
    expect(await unifiedChecksum(stack.dbs.members)).toEqual(expected);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  }, 180_000);
});
