import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dedupe } from '../workflows/dedupe/messages';
import { Rerate } from '../workflows/rerate/messages';
import { runTestBackfill, unifiedChecksum } from './support/backfill';
import { seededStack } from './support/stack';

let seq = 0;
/**
 * Phase A after phase D: what a rerate recomputed and what a dedupe removed are an operator's decisions. A backfill
 * run again afterwards (a rollback's repair, a spot fix, a refresh) re-derives everything else from the sources and
 * leaves those alone.
 */
describe('a backfill after rerate and dedupe', () => {
  let env: Awaited<ReturnType<typeof seededStack>>;
  beforeAll(async () => {
    env = await seededStack('backfill_after_rerate', { size: 'tiny', seed: 13 });
    await runTestBackfill(env.stack.client!, env.taskQueue, {});
  });
  afterAll(async () => {
    await env?.close();
  });
  const id = () => `test/after-rerate/${process.pid}/${Date.now()}/${seq++}`;

  it('changes nothing: rerated rows, their stats ratings and the removed duplicates stay as phase D left them', async () => {
    const client = env.stack.client!;
    const db = env.stack.dbs.members;
    const backfilled = await unifiedChecksum(db);
    for (const stream of ['develop', 'marathon'] as const)
      await client.workflow.execute(Rerate, {
        taskQueue: env.taskQueue,
        workflowId: id(),
        args: [{ options: { stream, throttle: { enabled: false } } }],
      });
    const removed = await client.workflow.execute(Dedupe, {
      taskQueue: env.taskQueue,
      workflowId: id(),
      args: [{ options: { apply: true } }],
    });
    expect(removed.mode).toBe('apply');
    const afterD = await unifiedChecksum(db);
    // phase D did change the tables (else this test would prove nothing)
    expect(afterD.history).not.toBe(backfilled.history);
    expect(afterD.stats).not.toBe(backfilled.stats);
    const rerated = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM members."memberStatsHistory" WHERE "updatedBy" IN ('rerate-member-stats', 'rerate-mm-stats')`.execute(
      db,
    );
    expect(rerated.rows[0]!.n).toBeGreaterThan(0);

    const again = await runTestBackfill(client, env.taskQueue, { restart: true });
    expect(again.totals).toMatchObject({ statsRows: 0, historyRows: 0, staleRemoved: 0 });
    expect(await unifiedChecksum(db)).toEqual(afterD);
    // one member alone, as a spot fix or a refresh runs it
    const m = await sql<{ userId: number }>`
      SELECT "userId" FROM members."memberStatsHistory" WHERE "updatedBy" = 'rerate-mm-stats' ORDER BY 1 LIMIT 1`.execute(db);
    await runTestBackfill(client, env.taskQueue, { userIds: [Number(m.rows[0]!.userId)], restart: true });
    expect(await unifiedChecksum(db)).toEqual(afterD);
  });
});
