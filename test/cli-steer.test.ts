import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Stack } from '../lib/stack';
import { runSeed } from '../scripts/seed/index';
import { runWorker, type RunningWorker } from '../workers/run';
import type { WorkflowHandle } from '@temporalio/client';
import { backfillProgress, LONE_BACKFILL_PREFIX } from '../workflows/backfill/messages';
import { startBackfill } from '../scripts/commands/backfill';
import { BackfillOptions } from '../domain/backfill';
import { startCutover } from '../scripts/commands/cutover-run';
import { cutoverStatus } from '../workflows/cutover/messages';
import { cli } from './support/cli';
import { ownNamespace } from './support/namespace';
import { createTestDatabase } from './support/db';
import { testStack, uniqueTaskQueue, workflowBundle } from './support/stack';

/**
 * pause, resume, retune, cancel and status as an operator meets them: nothing running, a backfill with no worker
 * polling (the request is recorded and said to wait; retune refuses instead of hanging; status warns), then with a
 * worker: already paused, resumed, not paused, cancelled. In a namespace of its own: the backfill's workflow id is
 * fixed, and other files run backfills at the same time.
 */
describe('steering the running backfill from the CLI', () => {
  let namespace: string;
  const taskQueue = uniqueTaskQueue('cli-steer');
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let stack: Stack;
  let worker: RunningWorker | undefined;
  /** the backfill the second test starts */
  let handle: WorkflowHandle;
  let env: Record<string, string>;
  const run = (...args: string[]) => cli(args, env);

  beforeAll(async () => {
    namespace = await ownNamespace('cli-steer');
    db = await createTestDatabase('cli_steer');
    env = { DATABASE_URL: db.url, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: namespace, TASK_QUEUE: taskQueue };
    stack = await testStack(db.url, { TEMPORAL_NAMESPACE: namespace, TASK_QUEUE: taskQueue });
    await runSeed(stack.dbs, { size: 'tiny', seed: 5 });
  });
  afterAll(async () => {
    await worker?.stop();
    await stack?.close();
    await db?.drop();
  });

  it('nothing running: pause, resume and cancel say so (exit 2)', async () => {
    for (const cmd of ['pause', 'resume', 'cancel']) {
      const r = await run(cmd);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('no cutover or backfill is running: nothing to steer');
    }
  });

  it(
    'a backfill no worker polls: status warns, pause is recorded and said to wait, retune refuses at once',
    { timeout: 120_000 },
    async () => {
      handle = await startBackfill(stack, BackfillOptions.parse({ batchSize: 20, concurrency: 1 }));
      // one id per run
      expect(handle.workflowId.startsWith(LONE_BACKFILL_PREFIX)).toBe(true);
      const status = await run('status');
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain(
        `WARNING: workflows are running but no worker polls their task queue: nothing moves until one runs (\`npm run stack\`, or \`npm run worker\`) — ${handle.workflowId}`,
      );
      // the read source's trail and the legacy read count are part of status
      expect(status.stdout).toMatch(
        /Legacy reads: 0\nRead source switches \(latest first\):\n {2}\S+ – → legacy by startup: initialised from STATS_READ_SOURCE/,
      );
      const pause = await run('pause');
      expect(pause.code, pause.stderr).toBe(0);
      expect(pause.stderr).toContain('pause requested');
      expect(pause.stderr).toContain(`no worker polls task queue "${taskQueue}"`);
      expect(pause.stderr).toContain('takes effect once one runs');
      const retune = await run('retune', '--concurrency', '4');
      expect(retune.code).toBe(1);
      expect(retune.stderr).toContain('retune needs one to answer; nothing was changed');
    },
  );

  it('with a worker: the recorded pause holds, already paused, retuned, cancelled', { timeout: 120_000 }, async () => {
    worker = await runWorker(stack, { taskQueue, workflowBundle: await workflowBundle() });
    const state = () => handle.query(backfillProgress).then((p) => p.state);
    await expect.poll(state, { timeout: 60_000, interval: 250 }).toBe('paused');
    // what the Web UI shows as the run's current details: paused, and no ETA while it is
    const details = () => handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata').then((m) => m.currentDetails ?? '');
    await expect.poll(details, { timeout: 10_000 }).toMatch(/^backfill \d+% · paused · .* · ETA –$/);
    const again = await run('pause');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('the backfill is already paused');
    expect(again.stderr).not.toContain('no worker polls');

    const retune = await run('retune', '--concurrency', '2');
    expect(retune.code, retune.stderr).toBe(0);
    expect(retune.stderr).toContain('concurrency is now 2');

    const cancel = await run('cancel');
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stderr).toContain('cancel requested');
    await expect.poll(() => handle.describe().then((d) => d.status.name), { timeout: 30_000 }).toBe('CANCELLED');
    const after = await run('resume');
    expect(after.code).toBe(2);
    expect(after.stderr).toContain(`no cutover or backfill is running (the latest backfill, ${handle.workflowId}, is cancelled)`);
  });

  it('a cutover: not paused, paused, resumed, cancelled (as abort)', { timeout: 120_000 }, async () => {
    const name = `steer-${process.pid}`;
    const handle = await startCutover(stack.client!, taskQueue, { name, autoApprove: false }, 'test');
    const state = () => handle.query(cutoverStatus).then((x) => x.state);
    await expect.poll(state, { timeout: 90_000, interval: 250 }).toBe('waiting-approval');
    // retry re-runs a blocked step only: said, nothing sent, nothing on record
    const retry = await run('retry');
    expect(retry.code, retry.stderr).toBe(2);
    expect(retry.stderr).toContain('the cutover is waiting-approval: retry re-runs a blocked or rolled-back step (nothing sent)');
    expect((await handle.query(cutoverStatus)).actions.map((a) => a.action)).not.toContain('retry');
    const notPaused = await run('resume');
    expect(notPaused.code, notPaused.stderr).toBe(0);
    expect(notPaused.stderr).toContain(`cutover ${name} is not paused (waiting-approval): nothing to resume`);
    const pause = await run('pause', '--reason', 'lunch');
    expect(pause.stderr).toContain(`pause requested: cutover ${name}`);
    // waiting for the switch's approval it stays there, paused: the next step waits
    const paused = () => handle.query(cutoverStatus).then((x) => `${x.state}${x.paused ? ' paused' : ''}`);
    await expect.poll(paused, { timeout: 30_000, interval: 250 }).toBe('waiting-approval paused');
    expect((await run('pause')).stderr).toContain(`cutover ${name} is already paused`);
    const resume = await run('resume');
    expect(resume.stderr).toContain(`resumed cutover ${name}`);
    await expect.poll(paused, { timeout: 30_000, interval: 250 }).toBe('waiting-approval');
    const cancel = await run('cancel', '--reason', 'not today');
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stderr).toContain(`cancel requested: cutover ${name} ends`);
    const done = await handle.result();
    expect(done.state).toBe('aborted');
    expect(done.actions).toContainEqual(expect.objectContaining({ action: 'abort', reason: 'not today' }));
  });
});
