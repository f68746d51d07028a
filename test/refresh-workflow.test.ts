import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../store/catalog';
import { loadStream } from '../store/rerate/stream';
import { eventsFrom } from '../domain/rerate';
import {
  RatingSequencer,
  RefreshChallenge,
  RefreshMember,
  RefreshReconcile,
  refreshChallengeWorkflowId,
  rerateRequested,
  rerateWithdrawn,
  sequencerProgress,
} from '../workflows/refresh/messages';
import { rerateWorkflowId } from '../workflows/rerate/messages';
import { ensureReconcileSchedule } from '../scripts/commands/reconcile';
import { RECONCILE, SEQUENCER } from '../domain/refresh';
import { runTestBackfill, unifiedChecksum } from './support/backfill';
import { failureText } from './support/failure';
import { seededStack } from './support/stack';

/** Phase E's workflows on the real dev server and Postgres (tiny seed, backfilled): refresh, then rating in order. */
describe('refresh workflows', () => {
  let env: Awaited<ReturnType<typeof seededStack>>;
  beforeAll(async () => {
    env = await seededStack('refresh_wf', { size: 'tiny', seed: 21 });
    await runTestBackfill(env.stack.client!, env.taskQueue, {});
  });
  afterAll(async () => {
    await env?.close();
  });
  const caller = { clientId: 'autopilot-test', via: 'api' as const };
  const refresh = (challengeId: string, suffix = '') =>
    env.stack.client!.workflow.start(RefreshChallenge, {
      taskQueue: env.taskQueue,
      workflowId: `${refreshChallengeWorkflowId(challengeId)}${suffix}`,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      args: [{ challengeId, caller }],
    });
  const ordered = async (stream: 'develop' | 'marathon') => {
    const cat = await loadCatalog(env.stack.dbs.challenges);
    return eventsFrom((await loadStream(env.stack.dbs, cat, stream, 'rated')).events, undefined)!;
  };

  it('the latest end of a stream: participants refreshed, rated by the sequencer, on record with the client id; a duplicate joins, a later one has nothing to do', async () => {
    const events = await ordered('develop');
    const last = events.at(-1)!;
    const [a, b] = [await refresh(last.challengeId), await refresh(last.challengeId)];
    expect(b.firstExecutionRunId).toBe(a.firstExecutionRunId);
    const r = await a.result();
    expect(r).toMatchObject({ challengeId: last.challengeId, stream: 'develop', caller });
    expect(r.members).toBeGreaterThan(0);
    expect(r.rated!.rows).toBe(last.participants.length);
    expect(r.rated!.rerateFrom).toBeUndefined();
    const ev = await sql<{ clientId: string; passed: boolean }>`
      SELECT input->>'clientId' AS "clientId", passed FROM platform.evidence WHERE kind = 'refresh' AND "runId" = ${a.firstExecutionRunId}`.execute(
      env.stack.dbs.members,
    );
    expect(ev.rows).toEqual([{ clientId: 'autopilot-test', passed: true }]);
    const after = await unifiedChecksum(env.stack.dbs.members);
    const again = await (await refresh(last.challengeId)).result();
    expect(again.rated).toEqual({ rows: 0 });
    expect(again.statsUpdated).toBe(0);
    expect(await unifiedChecksum(env.stack.dbs.members)).toEqual(after);
  });

  it('an end older than events already rated is a rerate from it forward (phase D), and every later event counts as rated', async () => {
    const events = await ordered('marathon');
    const older = events[Math.floor(events.length / 2)]!;
    const r = await (await refresh(older.challengeId)).result();
    expect(r.stream).toBe('marathon');
    expect(r.rated!.rerateFrom).toBe(older.challengeId);
    const rated = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM platform."ratedEvent" WHERE stream = 'marathon'`.execute(env.stack.dbs.members);
    expect(rated.rows[0]!.n).toBe(events.length - Math.floor(events.length / 2));
  });

  it('refuses an unknown challenge and one that has not ended, naming it; refreshes one member by handle', async () => {
    const unknown = await (await refresh('00000000-0000-0000-0000-000000000000')).result().catch((e: unknown) => e);
    expect(failureText(unknown)).toMatch(/challenge 00000000-0000-0000-0000-000000000000: no such challenge/);
    const active = await sql<{ id: string }>`
      SELECT id::text FROM challenges."Challenge" WHERE status = 'ACTIVE' LIMIT 1`.execute(env.stack.dbs.challenges);
    if (active.rows[0]) {
      const e = await (await refresh(active.rows[0].id)).result().catch((x: unknown) => x);
      expect(failureText(e)).toMatch(/has not ended: its status is ACTIVE/);
    }
    const m = await sql<{ handle: string }>`SELECT handle FROM members.member ORDER BY "userId" LIMIT 1`.execute(env.stack.dbs.members);
    const one = await env.stack.client!.workflow.execute(RefreshMember, {
      taskQueue: env.taskQueue,
      workflowId: `test/refresh-member/${Date.now()}`,
      args: [{ handle: m.rows[0]!.handle.toUpperCase() }],
    });
    expect(one).toMatchObject({ handle: m.rows[0]!.handle, refreshed: true, challengeId: null });
  });

  const reconcile = (input: { chunk?: number } = {}) =>
    env.stack.client!.workflow.execute(RefreshReconcile, {
      taskQueue: env.taskQueue,
      workflowId: `test/reconcile/${Date.now()}/${Math.random()}`,
      args: [input],
    });

  it('the reconciler starts at the latest completed challenge, then refreshes exactly the ends no trigger refreshed, in bounded chunks', async () => {
    const first = await reconcile();
    expect(first).toMatchObject({ initialized: true, refreshed: [] });
    // four challenges end after the mark; a trigger reaches only one of them
    const ended = await sql<{ id: string }>`
      INSERT INTO challenges."Challenge" (id, name, "typeId", "trackId", status, "legacyId", "startDate", "endDate", "createdAt", "updatedAt")
      SELECT gen_random_uuid(), 'Reconciler test ' || n, c."typeId", c."trackId", 'COMPLETED', NULL, now(), now() + n * interval '1 millisecond', now(), now()
      FROM (SELECT * FROM challenges."Challenge" LIMIT 1) c CROSS JOIN generate_series(1, 4) n
      RETURNING id::text AS id`.execute(env.stack.dbs.challenges);
    expect(ended.rows.length).toBe(4);
    const ids = ended.rows.map((r) => r.id);
    await (await refresh(ids[0]!)).result();
    const r = await reconcile({ chunk: 2 });
    expect(r.looked).toBe(4);
    expect(r.chunks).toBeGreaterThanOrEqual(2);
    expect([...r.refreshed].sort()).toEqual(ids.slice(1).sort());
    expect(r.caughtUp).toBe(true);
    const logged = await sql<{ challengeId: string; via: string }>`
      SELECT "challengeId"::text AS "challengeId", via FROM platform."refreshLog" WHERE "challengeId" = ANY(${ids}::uuid[]) ORDER BY 1`.execute(
      env.stack.dbs.members,
    );
    expect(logged.rows.map((x) => x.via).sort()).toEqual(['api', 'reconciler', 'reconciler', 'reconciler']);
    expect(await reconcile()).toMatchObject({ looked: 0, refreshed: [], caughtUp: true });
  });

  it('the reconciler’s schedule is created once, left alone when it matches, and follows a changed interval', async () => {
    const stack = { ...env.stack, config: { ...env.stack.config, temporal: { ...env.stack.config.temporal, taskQueue: env.taskQueue } } };
    const handle = env.stack.client!.schedule.getHandle(RECONCILE.scheduleId);
    await handle.delete().catch(() => undefined);
    try {
      expect(await ensureReconcileSchedule(stack)).toBe('created');
      expect(await ensureReconcileSchedule(stack)).toBe('unchanged');
      const every7 = { ...stack, config: { ...stack.config, refresh: { ...stack.config.refresh, reconcileEveryMinutes: 7 } } };
      expect(await ensureReconcileSchedule(every7)).toBe('updated');
      expect((await handle.describe()).spec.intervals?.[0]?.every).toBe(7 * 60_000);
    } finally {
      await handle.delete().catch(() => undefined);
    }
  });
  it('a stream rerate withdrawn by its requester (a cutover rolled back mid-rerate): cancelled while it runs, dropped while queued; the sequencer goes on', async () => {
    const client = env.stack.client!;
    const request = (requestId: string, chunkEvents: number) =>
      client.workflow.signalWithStart(RatingSequencer, {
        workflowId: SEQUENCER.workflowId(env.taskQueue, 'develop'),
        taskQueue: env.taskQueue,
        args: [{ stream: 'develop', taskQueue: env.taskQueue }],
        signal: rerateRequested,
        signalArgs: [{ requestId, concurrency: 1, options: { chunkEvents } }],
      });
    // one event per chunk: long enough to be caught running; the second waits behind it, and is withdrawn there
    const seq = await request('first', 1);
    await request('second', 1);
    await seq.signal(rerateWithdrawn, { requestId: 'second' });
    const rerate = client.workflow.getHandle(rerateWorkflowId('develop', env.taskQueue));
    let runId = '';
    for (let i = 0; ; i++) {
      const d = await rerate.describe().catch(() => undefined);
      if (d?.status.name === 'RUNNING' && d.taskQueue === env.taskQueue) {
        runId = d.runId;
        break;
      }
      if (i > 300) throw new Error('the rerate never started');
      await new Promise((r) => setTimeout(r, 100));
    }
    await seq.signal(rerateWithdrawn, { requestId: 'first' });
    await expect(rerate.result()).rejects.toThrow();
    expect((await rerate.describe()).status.name).toBe('CANCELLED');
    // the withdrawn second never ran: the sequencer handled one rerate and waits with nothing queued
    for (let i = 0; (await seq.query(sequencerProgress)).rerates < 1; i++) {
      if (i > 100) throw new Error('the sequencer did not finish the cancelled rerate');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await client.workflow.getHandle(rerateWorkflowId('develop', env.taskQueue)).describe()).runId).toBe(runId);
    // and the next request runs to the end
    await request('third', 250);
    for (let i = 0; (await seq.query(sequencerProgress)).rerates < 2; i++) {
      if (i > 300) throw new Error('the sequencer did not run the next rerate');
      await new Promise((r) => setTimeout(r, 100));
    }
    const last = await client.workflow.getHandle(rerateWorkflowId('develop', env.taskQueue)).describe();
    expect(last.runId).not.toBe(runId);
    expect(last.status.name).toBe('COMPLETED');
    // the sequencer's history so far (a withdrawn request queued and one running, then the next): replayed by test/replay
    const path = join(__dirname, 'histories', 'rating-sequencer-withdrawn.json');
    if (process.env.RECORD_HISTORIES && !existsSync(path)) writeFileSync(path, `${historyToJSON(await seq.fetchHistory())}\n`);
  });
  it('a stream rerate request signalled twice (its sender retried after a lost completion) runs once', async () => {
    const client = env.stack.client!;
    const request = (requestId: string) =>
      client.workflow.signalWithStart(RatingSequencer, {
        workflowId: SEQUENCER.workflowId(env.taskQueue, 'marathon'),
        taskQueue: env.taskQueue,
        args: [{ stream: 'marathon', taskQueue: env.taskQueue }],
        signal: rerateRequested,
        signalArgs: [{ requestId }],
      });
    // the stream's sequencer may have handled rerates before (earlier tests): count from here
    const before = await client.workflow
      .getHandle(SEQUENCER.workflowId(env.taskQueue, 'marathon'))
      .query(sequencerProgress)
      .then((p) => p.rerates)
      .catch(() => 0);
    const seq = await request('twice');
    await request('twice');
    await request('once');
    // every request in hand handled and nothing waiting: the second 'twice' was dropped, not queued
    for (let i = 0; ; i++) {
      const p = await seq.query(sequencerProgress);
      if (p.rerates - before >= 2 && p.reratesQueued === 0 && !p.rerateRunning) {
        expect(p.rerates - before).toBe(2);
        break;
      }
      if (i > 600) throw new Error(`the sequencer did not finish: ${JSON.stringify(p)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
});
