import type { WorkflowHandle } from '@temporalio/client';
import type { Command } from 'commander';
import { concurrencyMessage, isConcurrency } from '../../domain/limits';
import { stderrLog, type Stack } from '../../lib/stack';
import { NothingToSteer, steerAction, steerTarget, type SteerAction, type SteerTarget } from '../../api/steering';
import { setConcurrency } from '../../workflows/backfill/messages';
import { cutoverConcurrency, cutoverStatus } from '../../workflows/cutover/messages';
import { requireWorker, steer, UsageError, warnIfNoWorker, wholeNumber, withStack } from '../cli-support';

/**
 * pause, resume, retune and cancel: to the running cutover (passed on to its phase), else to a backfill running on
 * its own. Each says what it did, or why there was nothing to do: "not paused", "already paused", "nothing running";
 * with no worker polling, a signal is recorded and the operator told it waits for one, and retune (an update, which
 * needs a worker to answer) refuses at once instead of hanging.
 */

const operator = () => ({ actor: process.env.USER?.trim() || 'operator' });

/** The running cutover, else the lone backfill; nothing running is the operator's to know (exit 2). */
async function target(s: Stack): Promise<SteerTarget> {
  return steerTarget({ ...s, client: s.client! }).catch((e: unknown) => {
    throw e instanceof NothingToSteer ? new UsageError(e.message) : e;
  });
}

/** The cutover's backfill step while it runs (its child), which a retune reaches as well. */
async function backfillOfCutover(s: Stack, cutover: WorkflowHandle): Promise<WorkflowHandle | undefined> {
  const st = await cutover.query(cutoverStatus).catch(() => undefined);
  const step = st?.steps.find((x) => x.step === 'backfill' && x.status === 'running' && x.childWorkflowId);
  return step ? s.client!.workflow.getHandle(step.childWorkflowId!) : undefined;
}

const STEERING: Array<[SteerAction, string]> = [
  ['pause', 'pause the running cutover (passed on to its phase; the next step waits), else the running backfill between batches'],
  ['resume', 'resume the paused cutover, else a paused backfill'],
  [
    'cancel',
    'cancel the running backfill (its committed batches stay; a later run continues them), or end the running cutover (as `abort`)',
  ],
];

export function registerSteer(program: Command): void {
  for (const [action, description] of STEERING)
    program
      .command(action)
      .description(description)
      .option('--reason <text>', 'why (on the cutover’s record)')
      .action((f: { reason?: string }) =>
        withStack({}, async (s) => {
          const t = await target(s);
          const said = await steer(t.label, () => steerAction(t, action, { ...operator(), ...(f.reason ? { reason: f.reason } : {}) }));
          stderrLog(said);
          await warnIfNoWorker(s);
        }),
      );

  program
    .command('retune')
    .description('change the running backfill’s concurrency (and, in a cutover, that of the steps to come)')
    .requiredOption('--concurrency <n>', 'batches in flight, 1-32')
    .action((f: { concurrency: string }) =>
      withStack({}, async (s) => {
        const n = wholeNumber('--concurrency', f.concurrency)!;
        if (!isConcurrency(n)) throw new UsageError(`${concurrencyMessage()}, got ${n}`);
        const t = await target(s);
        // an update is answered by a worker: without one it would wait, so it is refused now
        await requireWorker(s, 'retune');
        if (t.kind === 'cutover') await t.handle.executeUpdate(cutoverConcurrency, { args: [{ concurrency: n, ...operator() }] });
        // in a cutover, its running backfill step (if any) follows too
        const step = t.kind === 'cutover' ? await backfillOfCutover(s, t.handle) : t.handle;
        const now = step
          ? await steer('backfill', () => step.executeUpdate(setConcurrency, { args: [n] })).catch((e: unknown) => {
              if (t.kind === 'cutover') return n;
              throw e;
            })
          : n;
        stderrLog(`concurrency is now ${now}`);
      }),
    );
}
