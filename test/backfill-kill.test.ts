import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Stack } from '../lib/stack';
import { runSeed } from '../scripts/seed/index';
import { hasWorker, runWorker } from '../workers/run';
import { backfillProgress } from '../workflows/backfill/messages';
import type { BackfillResult } from '../workflows/backfill/workflow';
import { clearUnified, runTestBackfill, startTestBackfill, unifiedChecksum } from './support/backfill';
import { createTestDatabase } from './support/db';
import { testStack, uniqueTaskQueue, workflowBundle } from './support/stack';

const ROOT = resolve(__dirname, '..');

/** A real worker process (`npm run worker`), in its own process group so SIGKILL takes all of it. */
function workerProcess(env: Record<string, string>): ChildProcess {
  return spawn(resolve(ROOT, 'node_modules/.bin/tsx'), ['workers/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: 'ignore',
    detached: true,
  });
}

function kill(p: ChildProcess): Promise<void> {
  return new Promise((res) => {
    if (p.exitCode !== null || p.signalCode !== null) return res();
    p.once('exit', () => res());
    process.kill(-p.pid!, 'SIGKILL');
  });
}

async function until(what: string, fn: () => Promise<boolean>, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('backfill survives a worker killed mid-run (SIGKILL)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let stack: Stack;
  const procs: ChildProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('backfill_kill');
    stack = await testStack(db.url);
    await runSeed(stack.dbs, { size: 'small', seed: 5 });
  });
  afterAll(async () => {
    for (const p of procs) await kill(p);
    await stack?.close();
    await db?.drop();
  });

  it('gives tables identical to an undisturbed run, with no lost or duplicate rows', async () => {
    // the undisturbed reference, on an in-process worker
    const refQueue = uniqueTaskQueue('kill-ref');
    const ref = await runWorker(stack, { taskQueue: refQueue, workflowBundle: await workflowBundle() });
    const undisturbed = await runTestBackfill(stack.client!, refQueue, { batchSize: 40, concurrency: 2 });
    await ref.stop();
    const expected = await unifiedChecksum(stack.dbs.members);
    expect(expected.counts[0]).toBeGreaterThan(1000);
    await clearUnified(stack.dbs.members);

    const taskQueue = uniqueTaskQueue('kill');
    const env = { DATABASE_URL: db.url, TEMPORAL_ADDRESS: inject('temporalAddress'), TASK_QUEUE: taskQueue, LOG_LEVEL: 'silent' };
    const first = workerProcess(env);
    procs.push(first);
    await until('the first worker to poll', () => hasWorker(stack.client!, stack.config.temporal.namespace, taskQueue));

    const h = await startTestBackfill(stack.client!, taskQueue, { batchSize: 40, concurrency: 2 }, { heartbeatSeconds: 3 });
    await until('a few batches to finish', async () => (await h.query(backfillProgress)).batchesDone >= 5);
    const atKill = await h.query(backfillProgress);
    await kill(first);
    expect(atKill.batchesDone).toBeLessThan(atKill.batchesTotal); // killed mid-run, not after

    const second = workerProcess(env);
    procs.push(second);
    const result = await h.result();

    expect(await unifiedChecksum(stack.dbs.members)).toEqual(expected);
    expect(result.totals.members).toBe(undisturbed.totals.members);
    expect(result.totals.missingMembers).toBe(undisturbed.totals.missingMembers);
    const members = await sql<{ n: number }>`SELECT count(*)::int AS n FROM members."member"`.execute(stack.dbs.members);
    expect(result.totals.members).toBe(members.rows[0]!.n);
    await kill(second);
  }, 240_000);
});
