import { ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Command } from 'commander';
import { RECONCILE } from '../../domain/refresh';
import { stderrLog, type Stack } from '../../lib/stack';
import { reconcileLag } from '../../store/refresh/reconcile';
import { RefreshReconcile } from '../../workflows/refresh/messages';
import { withStack, withWorker } from '../cli-support';

/**
 * The reconciler's Temporal Schedule (every RECONCILE_EVERY_MINUTES): created when the stack comes up, its interval
 * and task queue brought in line with the configuration when they differ. Overlapping runs are skipped.
 */
export async function ensureReconcileSchedule(stack: Stack): Promise<'created' | 'updated' | 'unchanged'> {
  const client = stack.client!;
  const every = `${stack.config.refresh.reconcileEveryMinutes}m`;
  const taskQueue = stack.config.temporal.taskQueue;
  const action = {
    type: 'startWorkflow' as const,
    workflowType: RefreshReconcile,
    taskQueue,
    args: [{}] as [{}],
    workflowId: 'refresh/reconcile',
  };
  try {
    await client.schedule.create({
      scheduleId: RECONCILE.scheduleId,
      spec: { intervals: [{ every }] },
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
    });
    return 'created';
  } catch (e) {
    if (!(e instanceof ScheduleAlreadyRunning)) throw e;
  }
  const handle = client.schedule.getHandle(RECONCILE.scheduleId);
  const d = await handle.describe();
  const current = d.spec.intervals?.[0]?.every;
  const currentMs = typeof current === 'number' ? current : undefined;
  const wantMs = stack.config.refresh.reconcileEveryMinutes * 60_000;
  if (currentMs === wantMs && d.action.type === 'startWorkflow' && d.action.taskQueue === taskQueue) return 'unchanged';
  await handle.update((prev) => ({ ...prev, spec: { intervals: [{ every }] }, action }));
  return 'updated';
}

export function registerReconcile(program: Command): void {
  program
    .command('reconcile')
    .description(
      'phase E: refresh now every completed challenge past the high-water mark that no trigger refreshed (what the schedule does)',
    )
    .option('--json', 'print the result as JSON')
    .action(async (flags: { json?: boolean }) => {
      await withStack({}, async (stack) => {
        const r = await withWorker(stack, stderrLog, () =>
          stack.client!.workflow.execute(RefreshReconcile, {
            taskQueue: stack.config.temporal.taskQueue,
            workflowId: `refresh/reconcile/manual/${Date.now()}`,
            args: [{}],
          }),
        );
        const lag = await reconcileLag(stack.dbs);
        const out = { ...r, mark: lag.mark ?? null, behind: lag.behind };
        process.stdout.write(
          flags.json
            ? `${JSON.stringify(out, null, 2)}\n`
            : `${r.initialized ? 'Reconciler started: its mark is the latest completed challenge' : `Reconciled: ${r.looked} completed challenges looked at, ${r.refreshed.length} refreshed that no trigger had`}; ${lag.behind} behind${lag.mark ? ` (mark ${lag.mark.endDate} ${lag.mark.challengeId})` : ''}\n`,
        );
      });
    });
}
