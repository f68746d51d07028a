import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import type { Command } from 'commander';
import { RerateOptions } from '../../domain/rerate';
import { CutoverPhase, CutoverState } from '../../domain/search-attributes';
import { stderrLog, type Stack } from '../../lib/stack';
import { findChallenge } from '../../store/rerate/challenge';
import { SEQUENCER, type StreamRerateRequest } from '../../domain/refresh';
import { Rerate, RerateChallenge, RerateMember, rerateProgress, rerateWorkflowId } from '../../workflows/rerate/messages';
import { memberExists } from '../../store/parity/scope';
import type { RerateResult } from '../../workflows/rerate/workflow';
import { inputErrorsAsUsage, resultThroughOutages, UsageError, wholeNumber, withStack, withWorker } from '../cli-support';
import { registerPreviewActions, registerRerateSteering } from './rerate-steer';

interface RawFlags {
  stream?: string;
  from?: string;
  concurrency?: string;
  chunkEvents?: string;
  readBudgetMs?: string;
  throttle?: boolean;
  userId?: string;
  challenge?: string;
  preview?: boolean;
  json?: boolean;
}

/** Flags → validated options; every problem is reported before anything starts. */
export function parseRerateFlags(f: RawFlags): RerateOptions {
  const parsed = RerateOptions.safeParse({
    stream: f.stream,
    from: f.from,
    concurrency: wholeNumber('--concurrency', f.concurrency),
    chunkEvents: wholeNumber('--chunk-events', f.chunkEvents),
    preview: f.preview === true,
    throttle: { enabled: f.throttle ?? true, readBudgetMs: wholeNumber('--read-budget-ms', f.readBudgetMs) },
  });
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('\n'));
  return parsed.data;
}

async function follow(handle: WorkflowHandle<typeof Rerate>, json: boolean): Promise<RerateResult> {
  const timer = setInterval(() => {
    if (json) return;
    handle
      .query(rerateProgress)
      .then((p) => {
        const why = p.state === 'throttled' && p.throttle ? ` — ${p.throttle.reasons.join('; ')}` : '';
        const eta = p.etaSeconds === null ? '–' : `${Math.ceil(p.etaSeconds)} s`;
        stderrLog(
          `rerate ${p.stream ?? ''} ${p.state}: ${p.eventsDone}/${p.eventsTotal} events, ${p.chunksDone}/${p.chunksTotal} chunks, ${p.rowsWritten} rows written, ETA ${eta}${why}`,
        );
      })
      .catch(() => {});
  }, 2000);
  try {
    return await resultThroughOutages(handle);
  } finally {
    clearInterval(timer);
  }
}

function summary(r: RerateResult): string {
  if (r.final.preview) return previewSummary(r, r.final.preview);
  return [
    `Rerate of the ${r.plan.stream} stream ${r.plan.from ? `from ${r.plan.from.name} (${r.plan.from.challengeId})` : 'from its first event'} done in ${r.seconds.toFixed(1)} s (${r.eventsPerSec.toFixed(0)} events/s), evidence #${r.evidenceId}`,
    `  events ${r.plan.events} in ${r.plan.chunks} chunks, members touched ${r.plan.membersTouched}`,
    `  history rows computed ${r.chunks.rows}, written (changed) ${r.chunks.written}; stats rows changed ${r.final.statsChanged}, ranks changed ${r.final.ranksChanged}`,
  ].join('\n');
}

const signed = (n: number | null) => (n === null ? '–' : n > 0 ? `+${n}` : String(n));

function previewSummary(r: RerateResult, p: NonNullable<RerateResult['final']['preview']>): string {
  const d = p.diff;
  const widest = Math.max(1, ...d.histogram.map((b) => b.count));
  const band = (b: (typeof d.histogram)[number]) =>
    b.from === null ? `≤ ${b.to}` : b.to === null ? `≥ ${b.from}` : b.from === b.to ? `${b.from}` : `${b.from} … ${b.to}`;
  return [
    `Preview ${p.runKey}: rerate of the ${r.plan.stream} stream ${r.plan.from ? `from ${r.plan.from.name} (${r.plan.from.challengeId})` : 'from its first event'} — nothing written to the unified tables`,
    `  events ${r.plan.events}, rows computed ${d.rows}, rows that would change ${d.rowsChanged} (${d.newRows} new), members changed ${d.membersChanged}`,
    ...(d.largest.length ? ['  largest rating changes:'] : ['  no rating changes']),
    ...d.largest.map(
      (c) =>
        `    member ${c.userId}  ${c.challengeName ?? c.challengeId} (${c.challengeId})  ${c.from ?? '–'} → ${c.to}  (${signed(c.delta)})`,
    ),
    '  Δ new rating (rows with a stored rating):',
    ...d.histogram.map(
      (b) => `    ${band(b).padStart(12)}  ${String(b.count).padStart(7)}  ${'█'.repeat(Math.ceil((40 * b.count) / widest))}`,
    ),
    `  apply exactly this: npm run cutover -- rerate promote ${p.runKey}`,
    `  or drop it:         npm run cutover -- rerate discard ${p.runKey}`,
  ].join('\n');
}

export async function startRerate(stack: Stack, options: RerateOptions) {
  try {
    return await stack.client!.workflow.start(Rerate, {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId: rerateWorkflowId(options.stream, stack.config.temporal.taskQueue),
      args: [{ options }],
      typedSearchAttributes: [
        { key: CutoverPhase, value: 'rerate' },
        { key: CutoverState, value: 'running' },
      ],
    });
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError)
      throw new UsageError(
        `a rerate of the ${options.stream} stream is already running (${rerateWorkflowId(options.stream, stack.config.temporal.taskQueue)}): follow it with \`status\``,
      );
    throw e;
  }
}

/**
 * A stream rerate that writes goes through the stream's rating sequencer (signal-with-start), as the cutover's does:
 * one writer per stream, so a challenge ending meanwhile is rated after it, never from half-rewritten ratings. The
 * sequencer starts it under the usual id (pause/resume/retune --stream find it); this follows that run.
 */
export async function requestStreamRerate(
  stack: Stack,
  options: RerateOptions,
  log: (m: string) => void,
): Promise<WorkflowHandle<typeof Rerate>> {
  const client = stack.client!;
  const taskQueue = stack.config.temporal.taskQueue;
  const id = rerateWorkflowId(options.stream, stack.config.temporal.taskQueue);
  const previous = await client.workflow
    .getHandle(id)
    .describe()
    .catch(() => undefined);
  if (previous?.status.name === 'RUNNING')
    throw new UsageError(`a rerate of the ${options.stream} stream is already running (${id}): follow it with \`status\``);
  const { stream, preview: _preview, ...rest } = options;
  const request: StreamRerateRequest = { requestId: randomUUID(), options: rest };
  await client.workflow.signalWithStart(SEQUENCER.workflowType, {
    workflowId: SEQUENCER.workflowId(taskQueue, stream),
    taskQueue,
    args: [{ stream, taskQueue }],
    signal: SEQUENCER.rerateRequested,
    signalArgs: [request],
  });
  log(
    `queued with the ${stream} stream's rating sequencer (${SEQUENCER.workflowId(taskQueue, stream)}): it starts once the ratings in hand are done`,
  );
  for (;;) {
    const d = await client.workflow
      .getHandle(id)
      .describe()
      .catch(() => undefined);
    if (d && d.runId !== previous?.runId) return client.workflow.getHandle(id, d.runId);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export function registerRerate(program: Command): void {
  const rerate = program
    .command('rerate')
    .description('Phase D: recompute a rating stream (develop | marathon) from a challenge forward with the rating engine')
    .option('--stream <develop|marathon>', 'the rating stream')
    .option('--from <challengeId>', 'the first challenge rerated (id or legacy id; default: the stream’s first event)')
    .option('--user-id <id>', 'only this member (the runbook’s per-member rerate: opponents from their stored history)')
    .option('--challenge <challengeId>', 'every submitter of this challenge, from it forward, one member at a time')
    .option('--concurrency <n>', 'chunks written at once (1-32, default 2)')
    .option('--chunk-events <n>', 'events per checkpointed chunk (default 250)')
    .option('--read-budget-ms <ms>', "the read API's p99 latency to protect (default 200)")
    .option('--no-throttle', 'run at full concurrency whatever live reads feel')
    .option('--preview', 'write into shadow tables and report the diff; `rerate promote <run>` applies it')
    .option('--json', 'print a final JSON summary')
    .enablePositionalOptions()
    .action(async (flags: RawFlags) => {
      const options = parseRerateFlags(flags);
      const userId = wholeNumber('--user-id', flags.userId);
      if (userId !== undefined && flags.challenge !== undefined) throw new UsageError('choose one of --user-id and --challenge');
      if (options.preview && (userId !== undefined || flags.challenge !== undefined))
        throw new UsageError('--preview previews a stream rerate: leave out --user-id and --challenge');
      if (flags.challenge !== undefined && options.from !== undefined)
        throw new UsageError('--challenge reruns its submitters from that challenge: leave --from out');
      await withStack({}, async (stack) => {
        // what the operator named exists, before anything starts
        for (const [flag, value] of [
          ['--from', options.from],
          ['--challenge', flags.challenge],
        ] as const)
          if (value !== undefined && !(await findChallenge(stack.dbs.challenges, value)))
            throw new UsageError(`${flag} ${value}: no such challenge (a challenge id or legacy id)`);
        if (userId !== undefined && !(await memberExists(stack.dbs.members, userId)))
          throw new UsageError(`--user-id ${userId}: no such member in members."member"`);
        await withWorker(stack, stderrLog, () =>
          inputErrorsAsUsage(async () => {
            const client = stack.client!;
            const taskQueue = stack.config.temporal.taskQueue;
            let out: unknown;
            let text: string;
            if (userId !== undefined) {
              const r = await client.workflow.execute(RerateMember, {
                taskQueue,
                workflowId: `cutover/rerate/member/${options.stream}/${userId}`,
                args: [{ stream: options.stream, userId, from: options.from }],
              });
              out = r;
              text = `Rerated member ${r.userId} on the ${r.stream} stream: ${r.challengesRerated} challenges rerated (${r.rows} rows, ${r.written} changed), stats rows changed ${r.statsChanged}, ranks changed ${r.ranksChanged}`;
            } else if (flags.challenge !== undefined) {
              const c = (await findChallenge(stack.dbs.challenges, flags.challenge))!;
              const r = await client.workflow.execute(RerateChallenge, {
                taskQueue,
                workflowId: `cutover/rerate/challenge/${options.stream}/${c.id}`,
                args: [{ stream: options.stream, challengeId: c.id }],
              });
              out = r;
              text = [
                `Rerated the ${r.members.length} submitters of ${r.name} (${r.challengeId}) on the ${options.stream} stream from it`,
                ...r.members.map((m) => `  member ${m.userId}: ${m.challengesRerated} challenges rerated, ${m.written} rows changed`),
                ...(r.missing.length ? [`  not in member (rated against, no rows of their own): ${r.missing.join(', ')}`] : []),
              ].join('\n');
            } else {
              const handle = options.preview ? await startRerate(stack, options) : await requestStreamRerate(stack, options, stderrLog);
              if (!flags.json) stderrLog(`started ${handle.workflowId}`);
              const r = await follow(handle, flags.json === true);
              out = r;
              text = summary(r);
            }
            process.stdout.write(flags.json ? `${JSON.stringify(out, null, 2)}\n` : `${text}\n`);
          }),
        );
      });
    });
  registerPreviewActions(rerate);
  registerRerateSteering(rerate);
}
