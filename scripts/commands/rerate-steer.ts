import type { Command } from 'commander';
import { z } from 'zod';
import { concurrencyMessage, isConcurrency } from '../../domain/limits';
import { STREAMS, type Stream } from '../../domain/rerate';
import { stderrLog, type Stack } from '../../lib/stack';
import { rerateRun } from '../../store/rerate/preview';
import {
  previewActionWorkflowId,
  rerateConcurrency,
  RerateDiscard,
  reratePause,
  ReratePromote,
  rerateResume,
  rerateWorkflowId,
} from '../../workflows/rerate/messages';
import { inputErrorsAsUsage, requireWorker, steer, UsageError, wholeNumber, withStack, withWorker } from '../cli-support';

const RunKey = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9-]{1,100}$/, { error: 'the run id is the one a preview printed (letters, digits and dashes)' });

function runKey(value: string): string {
  const r = RunKey.safeParse(value);
  if (!r.success) throw new UsageError(`rerate run "${value.slice(0, 100)}": ${r.error.issues[0]!.message}`);
  return r.data;
}

/** What the operator named is a finished preview, before any workflow starts (the activity checks again). */
async function checkPreview(stack: Stack, key: string): Promise<void> {
  const run = await rerateRun(stack.dbs.members, key);
  if (!run) throw new UsageError(`rerate run ${key}: no such run (a preview prints its run id; \`status\` lists open previews)`);
  if (!run.preview) throw new UsageError(`rerate run ${key} was not a preview: it wrote the unified tables directly`);
  if (run.status === 'running') throw new UsageError(`preview ${key} is still running: wait for it to finish`);
}

/** `rerate promote <run>` and `rerate discard <run>`. */
export function registerPreviewActions(rerate: Command): void {
  rerate
    .command('promote <run>')
    .description('apply a preview’s exact result in one transaction (refused if the stream changed since)')
    .option('--json', 'print the outcome as JSON')
    .action(async (value: string, flags: { json?: boolean }) => {
      const key = runKey(value);
      await withStack({}, async (stack) => {
        await checkPreview(stack, key);
        await withWorker(stack, stderrLog, () =>
          inputErrorsAsUsage(async () => {
            const r = await stack.client!.workflow.execute(ReratePromote, {
              taskQueue: stack.config.temporal.taskQueue,
              workflowId: previewActionWorkflowId('promote', key),
              args: [{ runKey: key }],
            });
            process.stdout.write(
              flags.json
                ? `${JSON.stringify(r, null, 2)}\n`
                : `Promoted preview ${r.runKey} (${r.stream}) at ${r.promotedAt}: ${r.written} history rows written, stats rows changed ${r.statsChanged}, ranks changed ${r.ranksChanged}, members ${r.membersTouched}\n`,
            );
          }),
        );
      });
    });

  rerate
    .command('discard <run>')
    .description('drop a preview’s shadow rows; the unified tables are untouched')
    .option('--json', 'print the outcome as JSON')
    .action(async (value: string, flags: { json?: boolean }) => {
      const key = runKey(value);
      await withStack({}, async (stack) => {
        await checkPreview(stack, key);
        await withWorker(stack, stderrLog, () =>
          inputErrorsAsUsage(async () => {
            const r = await stack.client!.workflow.execute(RerateDiscard, {
              taskQueue: stack.config.temporal.taskQueue,
              workflowId: previewActionWorkflowId('discard', key),
              args: [{ runKey: key }],
            });
            process.stdout.write(
              flags.json ? `${JSON.stringify(r, null, 2)}\n` : `${r.discarded ? 'Discarded' : 'Already discarded:'} preview ${r.runKey}\n`,
            );
          }),
        );
      });
    });
}

function streamOf(value: string | undefined): Stream {
  const r = z.enum(STREAMS, { error: '--stream must be develop or marathon' }).safeParse(value);
  if (!r.success) throw new UsageError(r.error.issues[0]!.message);
  return r.data;
}

/** `rerate pause|resume|retune --stream …`: the running stream rerate, between chunks. */
export function registerRerateSteering(rerate: Command): void {
  const target = (stack: Stack, stream: Stream) =>
    stack.client!.workflow.getHandle(rerateWorkflowId(stream, stack.config.temporal.taskQueue));
  const what = (stream: Stream) => `rerate of the ${stream} stream`;
  rerate
    .command('pause')
    .description('pause the running stream rerate between chunks')
    .requiredOption('--stream <develop|marathon>', 'the rating stream')
    .action((f: { stream: string }) => {
      const stream = streamOf(f.stream);
      return withStack({}, (s) =>
        steer(what(stream), async () => void (await target(s, stream).signal(reratePause), stderrLog('pause requested'))),
      );
    });
  rerate
    .command('resume')
    .description('resume a paused stream rerate')
    .requiredOption('--stream <develop|marathon>', 'the rating stream')
    .action((f: { stream: string }) => {
      const stream = streamOf(f.stream);
      return withStack({}, (s) =>
        steer(what(stream), async () => void (await target(s, stream).signal(rerateResume), stderrLog('resumed'))),
      );
    });
  rerate
    .command('retune')
    .description('change the running stream rerate’s concurrency (chunks written at once)')
    .requiredOption('--stream <develop|marathon>', 'the rating stream')
    .requiredOption('--concurrency <n>', 'chunks in flight, 1-32')
    .action((f: { stream: string; concurrency: string }) => {
      const stream = streamOf(f.stream);
      const n = wholeNumber('--concurrency', f.concurrency)!;
      if (!isConcurrency(n)) throw new UsageError(`${concurrencyMessage()}, got ${n}`);
      return withStack({}, async (s) => {
        await requireWorker(s, 'retune');
        const now = await steer(what(stream), () => target(s, stream).executeUpdate(rerateConcurrency, { args: [n] }));
        stderrLog(`concurrency is now ${now}`);
      });
    });
}
