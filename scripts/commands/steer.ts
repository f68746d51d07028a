import type { WorkflowHandle } from '@temporalio/client';
import type { Command } from 'commander';
import { concurrencyMessage, isConcurrency } from '../../domain/limits';
import { stderrLog, type Stack } from '../../lib/stack';
import { readCutover } from '../../store/cutover';
import { backfillProgress, pauseSignal, resumeSignal, setConcurrency } from '../../workflows/backfill/messages';
import { cutoverAbort, cutoverConcurrency, cutoverPause, cutoverResume, cutoverStatus } from '../../workflows/cutover/messages';
import { requireWorker, steer, UsageError, warnIfNoWorker, wholeNumber, withStack, workerPolls } from '../cli-support';
import { runningCutover } from './cutover-run';
import { loneBackfill } from '../../api/status';

/**
 * pause, resume, retune and cancel: to the running cutover (passed on to its phase), else to a backfill running on
 * its own. Each says what it did, or why there was nothing to do: "not paused", "already paused", "nothing running";
 * with no worker polling, a signal is recorded and the operator told it waits for one, and retune (an update, which
 * needs a worker to answer) refuses at once instead of hanging.
 */

const operator = () => ({ actor: process.env.USER?.trim() || 'operator' });

type Target = { kind: 'cutover' | 'backfill'; handle: WorkflowHandle; state?: string; paused?: boolean };

async function target(s: Stack): Promise<Target> {
  const polls = await workerPolls(s);
  const cutover = await runningCutover(s);
  if (cutover) {
    // live when a worker answers, else as last mirrored
    const live = polls ? await cutover.query(cutoverStatus).catch(() => undefined) : undefined;
    const st = live ?? (await readCutover(s.dbs.members))?.status;
    return { kind: 'cutover', handle: cutover, state: st?.state, paused: st?.state === 'paused' || st?.paused === true };
  }
  const lone = await loneBackfill(s.client!);
  if (lone?.status !== 'RUNNING')
    throw new UsageError(
      lone
        ? `no cutover or backfill is running (the latest backfill, ${lone.workflowId}, is ${lone.status.toLowerCase()}): nothing to steer`
        : 'no cutover or backfill is running: nothing to steer (see `status`)',
    );
  const handle = s.client!.workflow.getHandle(lone.workflowId);
  // its state, when a worker can answer right now
  const progress = polls ? await handle.query(backfillProgress).catch(() => undefined) : undefined;
  return { kind: 'backfill', handle, state: progress?.state, paused: progress?.state === 'paused' };
}

/** The cutover's backfill step while it runs (its child), which a retune reaches as well. */
async function collectBackfillOfCutover(s: Stack, cutover: WorkflowHandle): Promise<WorkflowHandle | undefined> {
  const st = await cutover.query(cutoverStatus).catch(() => undefined);
  const step = st?.steps.find((x) => x.step === 'backfill' && x.status === 'running' && x.childWorkflowId);
  return step ? s.client!.workflow.getHandle(step.childWorkflowId!) : undefined;
}

const what = (t: Target) => (t.kind === 'cutover' ? `cutover ${t.handle.workflowId.replace(/^cutover\//, '')}` : 'the backfill');

export function registerSteer(program: Command): void {
  program
    .command('pause')
    .description('pause the running cutover (passed on to its phase), else the running backfill between batches')
    .option('--reason <text>', 'why (on the cutover’s record)')
    .action((f: { reason?: string }) =>
      withStack({}, async (s) => {
        const t = await target(s);
        if (t.paused) return stderrLog(`${what(t)} is already paused: \`resume\` to go on`);
        if (t.kind === 'cutover') await t.handle.signal(cutoverPause, { ...operator(), ...(f.reason ? { reason: f.reason } : {}) });
        else await steer('backfill', () => t.handle.signal(pauseSignal));
        stderrLog(`pause requested: ${what(t)} pauses between batches (\`status\` shows when it has)`);
        await warnIfNoWorker(s);
      }),
    );

  program
    .command('resume')
    .description('resume the paused cutover, else a paused backfill')
    .option('--reason <text>', 'why (on the cutover’s record)')
    .action((f: { reason?: string }) =>
      withStack({}, async (s) => {
        const t = await target(s);
        if (t.state !== undefined && !t.paused) return stderrLog(`${what(t)} is not paused (${t.state}): nothing to resume`);
        if (t.kind === 'cutover') await t.handle.signal(cutoverResume, { ...operator(), ...(f.reason ? { reason: f.reason } : {}) });
        else await steer('backfill', () => t.handle.signal(resumeSignal));
        stderrLog(t.state === undefined ? `resume requested (${what(t)}: its state could not be read)` : `resumed ${what(t)}`);
        await warnIfNoWorker(s);
      }),
    );

  program
    .command('cancel')
    .description(
      'cancel the running backfill (its committed batches stay; a later run continues them), or end the running cutover (as `abort`)',
    )
    .option('--reason <text>', 'why (on the cutover’s record)')
    .action((f: { reason?: string }) =>
      withStack({}, async (s) => {
        const t = await target(s);
        if (t.kind === 'cutover') {
          await t.handle.signal(cutoverAbort, { ...operator(), ...(f.reason ? { reason: f.reason } : {}) });
          stderrLog(`cancel requested: ${what(t)} ends (reads back to legacy if they were unified)`);
        } else {
          await steer('backfill', () => t.handle.cancel());
          stderrLog(
            'cancel requested: the backfill stops after its batches in flight roll back; its committed batches stay (a later run with the same options continues them)',
          );
        }
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
        const step = t.kind === 'cutover' ? await collectBackfillOfCutover(s, t.handle) : t.handle;
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
