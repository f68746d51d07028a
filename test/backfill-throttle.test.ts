import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi } from '../api/server';
import { ThrottleSettings } from '../domain/throttle';
import { watchReadSource } from '../store/read-source';
import { backfillProgress } from '../workflows/backfill/messages';
import { clearUnified, runTestBackfill, startTestBackfill } from './support/backfill';
import { seededStack } from './support/stack';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Live reads first: the backfill reads the API's published p99 (platform."readLatency") and holds back while it is
 * over budget. A real API publishes its latency; a row an API would write stands for a slow platform.
 */
describe('backfill throttling on the read API’s latency', () => {
  let env: Awaited<ReturnType<typeof seededStack>>;
  beforeAll(async () => {
    env = await seededStack('throttle', { size: 'tiny', seed: 21 });
  });
  afterAll(async () => {
    await env?.close();
  });
  const db = () => env.stack.dbs.members;

  it('the API publishes its recent read latency (member reads only), once a second, not per request', async () => {
    const reader = await watchReadSource(db());
    const api = await startApi({ dbs: env.stack.dbs, readSource: reader, port: 0, readLatency: { flushMs: 200 } });
    try {
      const handle = (await sql<{ handle: string }>`SELECT handle FROM members."member" LIMIT 1`.execute(db())).rows[0]!.handle;
      for (let i = 0; i < 12; i++) await fetch(`${api.url}/members/${handle}/stats`);
      for (let i = 0; i < 5; i++) await fetch(`${api.url}/members/health`); // not a member read
      await sleep(600);
      const rows = await sql<{ samples: number; p99Ms: number }>`SELECT samples, "p99Ms" FROM platform."readLatency"`.execute(db());
      expect(rows.rows).toHaveLength(1);
      expect(rows.rows[0]!.samples).toBe(12);
      expect(rows.rows[0]!.p99Ms).toBeGreaterThan(0);
    } finally {
      await api.close();
      reader.close();
      await sql`DELETE FROM platform."readLatency"`.execute(db());
    }
  });

  it('holds every batch back while reads are over budget (state throttled, the reason named), finishes once they recover', async () => {
    await clearUnified(db());
    let slow = true;
    const publish = async () => {
      while (slow) {
        await sql`
          INSERT INTO platform."readLatency" (instance, "p50Ms", "p99Ms", samples) VALUES ('test-api', 300, 900, 50)
          ON CONFLICT (instance) DO UPDATE SET "updatedAt" = now()`.execute(db());
        await sleep(300);
      }
      await sql`DELETE FROM platform."readLatency"`.execute(db());
    };
    const publishing = publish();
    await sleep(400);
    const h = await startTestBackfill(env.stack.client!, env.taskQueue, {
      batchSize: 5,
      concurrency: 4,
      throttle: ThrottleSettings.parse({ probeSeconds: 0.5 }),
      restart: true,
    });
    let p = await h.query(backfillProgress);
    for (let i = 0; i < 100 && !(p.state === 'throttled' && p.throttle?.allowed === 0 && p.inFlight === 0); i++) {
      await sleep(100);
      p = await h.query(backfillProgress);
    }
    expect(p.state).toBe('throttled');
    expect(p.throttle).toMatchObject({ allowed: 0, reasons: ['read p99 900 ms > 200 ms'] });
    expect(p.batchesDone).toBeLessThan(p.batchesTotal);
    const held = p.batchesDone;
    await sleep(2000);
    expect((await h.query(backfillProgress)).batchesDone).toBe(held); // nothing started while reads suffer
    const described = await h.describe();
    expect(described.typedSearchAttributes.get({ name: 'CutoverState', type: 'KEYWORD' } as never)).toBe('throttled');

    slow = false;
    await publishing;
    const r = await h.result();
    const members = await sql<{ n: number }>`SELECT count(*)::int AS n FROM members."member"`.execute(db());
    expect(r.totals.members).toBe(members.rows[0]!.n);
  });

  it('--no-throttle runs through whatever the latency', async () => {
    await clearUnified(db());
    await sql`INSERT INTO platform."readLatency" (instance, "p50Ms", "p99Ms", samples) VALUES ('test-api', 300, 900, 50)`.execute(db());
    try {
      const r = await runTestBackfill(env.stack.client!, env.taskQueue, {
        batchSize: 5,
        throttle: ThrottleSettings.parse({ enabled: false }),
        restart: true,
      });
      expect(r.totals.members).toBeGreaterThan(0);
    } finally {
      await sql`DELETE FROM platform."readLatency"`.execute(db());
    }
  });
});
