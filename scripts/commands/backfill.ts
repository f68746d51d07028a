import { WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { BackfillOptions, type BackfillProgress } from '../../domain/backfill';
import { stderrLog, type Stack } from '../../lib/stack';
import type { BackfillResult } from '../../workflows/backfill/workflow';
import { backfillProgress, Backfill, backfillWorkflowId } from '../../workflows/backfill/messages';
import { loneBackfill } from '../../api/status';
import { CutoverPhase, CutoverState } from '../../domain/search-attributes';
import { resultThroughOutages, UsageError, wholeNumber, withStack, withWorker } from '../cli-support';
import { checkBackfillTargets } from './targets';

interface RawFlags {
  userId?: string[];
  userIds?: string;
  trackId?: string;
  typeId?: string;
  skipHistory?: boolean;
  skipRerate?: boolean;
  skipRatings?: boolean;
  restart?: boolean;
  processedUserIdsPath?: string;
  concurrency?: string;
  limit?: string;
  batchSize?: string;
  csvOnly?: boolean;
  csvPath?: string;
  throttle?: boolean;
  readBudgetMs?: string;
  json?: boolean;
}

const int = wholeNumber;

/** Flags → validated options; every problem is reported before anything starts. */
export function parseBackfillFlags(f: RawFlags): BackfillOptions {
  const ids = [...(f.userId ?? []), ...(f.userIds ? f.userIds.split(',') : [])].map((s) => s.trim()).filter((s) => s !== '');
  const bad = ids.filter((s) => !/^\d+$/.test(s) || Number(s) === 0 || !Number.isSafeInteger(Number(s)));
  if (bad.length > 0) throw new UsageError(`--user-id/--user-ids take positive whole numbers; bad: ${bad.slice(0, 5).join(', ')}`);
  // asked for members but named none ('', ',,,', ' '): never read that as "every member"
  if ((f.userId !== undefined || f.userIds !== undefined) && ids.length === 0) {
    throw new UsageError('--user-id/--user-ids name no member: give at least one id, or leave both out to backfill every member');
  }
  const parsed = BackfillOptions.safeParse({
    userIds: ids.length > 0 ? ids.map(Number) : undefined,
    track: f.trackId,
    type: f.typeId,
    skipHistory: f.skipHistory ?? false,
    skipRerate: f.skipRerate ?? false,
    skipRatings: f.skipRatings ?? false,
    restart: f.restart ?? false,
    processedUserIdsPath: f.processedUserIdsPath,
    concurrency: int('--concurrency', f.concurrency),
    limit: int('--limit', f.limit),
    batchSize: int('--batch-size', f.batchSize),
    csvOnly: f.csvOnly ?? false,
    csvPath: f.csvPath,
    throttle: { enabled: f.throttle ?? true, readBudgetMs: int('--read-budget-ms', f.readBudgetMs) },
  });
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('\n'));
  return parsed.data;
}

/** The bar's fields from a progress reading (every field the format names, from the first frame on). */
function barPayload(p: BackfillProgress): Record<string, string | number> {
  return {
    state: p.state === 'throttled' && p.throttle ? `throttled (${p.throttle.reasons[0] ?? ''})` : p.state,
    rate: p.membersPerSec.toFixed(0),
    etaText: p.etaSeconds === null ? '–' : `${Math.ceil(p.etaSeconds)}s`,
    rows: p.rowsWritten,
    inflight: `${p.inFlight}/${p.concurrency}`,
  };
}

/** Follows a running backfill: a live bar on a terminal, nothing on stdout; Ctrl-C detaches (exit 0). */
async function follow(handle: WorkflowHandle, json: boolean): Promise<BackfillResult> {
  const result = resultThroughOutages(handle) as Promise<BackfillResult>;
  const tty = process.stderr.isTTY && !json;
  const bar = new SingleBar({
    stream: process.stderr,
    format: ' backfill [{bar}] {percentage}% | {value}/{total} members | {rate}/s | ETA {etaText} | {rows} rows | {state} {inflight}',
    noTTYOutput: false,
    hideCursor: true,
  });
  let started = false;
  let lastLog = 0;
  process.once('SIGINT', () => {
    // the bar's line ends first, so the message stands on its own line
    if (started) bar.stop();
    stderrLog(`detached: ${handle.workflowId} keeps running on the server (it needs a worker: \`npm run stack\` or \`npm run worker\`)`);
    process.exit(0);
  });
  // the tick in flight: awaited before returning, so no query is still running when the connection closes
  let tick: Promise<void> = Promise.resolve();
  const timer = setInterval(() => (tick = tick.then(poll)), 500);
  async function poll(): Promise<void> {
    try {
      const p = await handle.query(backfillProgress);
      if (tty) {
        if (!started) bar.start(Math.max(p.membersTotal, 1), p.membersDone, barPayload(p));
        started = true;
        bar.setTotal(Math.max(p.membersTotal, 1));
        bar.update(p.membersDone, barPayload(p));
      } else if (!json && Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        const why = p.state === 'throttled' && p.throttle ? ` — ${p.throttle.reasons.join('; ')}` : '';
        stderrLog(`backfill ${p.state}: ${p.membersDone}/${p.membersTotal} members, ${p.membersPerSec.toFixed(0)}/s${why}`);
      }
    } catch {
      // the query can fail between continue-as-new runs; the next tick catches up
    }
  }
  try {
    const r = await result;
    clearInterval(timer);
    await tick;
    // the last frame is the finished run (the last reading may predate the last batch)
    if (started) bar.update(bar.getTotal(), { state: 'done', etaText: '0s', rate: r.membersPerSec.toFixed(0), inflight: '' });
    return r;
  } finally {
    clearInterval(timer);
    await tick;
    if (started) bar.stop();
  }
}

function summary(r: BackfillResult): string {
  const t = r.totals;
  const ms = (x: number) => `${(x / 1000).toFixed(1)}s`;
  return [
    `Backfill done in ${r.seconds.toFixed(1)} s (${r.membersPerSec.toFixed(0)} members/s), evidence #${r.evidenceId}`,
    ...(r.plan.resumedBatches
      ? [
          `  continued an unfinished run with the same options: ${r.plan.resumedBatches} batches had committed and were skipped; their rows, written then, are in the counts below (--restart starts over)`,
        ]
      : []),
    `  members ${t.members}, skipped (missing from member) ${t.missingMembers}${t.missingSample.length ? ` e.g. ${t.missingSample.join(', ')}` : ''}`,
    ...(r.plan.unmapped?.length
      ? [
          `  legacy rows NOT placed (sub-track the mapping does not know): ${r.plan.unmapped.map((u) => `${u.table}.${u.subTrack} (${u.rows} rows, ${u.members} members)`).join(', ')}; add them to domain/mapping.ts`,
        ]
      : []),
    `  memberStats rows written ${t.statsRows}, history rows written ${t.historyRows}, stale removed ${t.staleRemoved}, ranks changed ${r.ranksChanged}`,
    `  time by step (summed over batches): preload ${ms(t.timings.preload)}, aggregate ${ms(t.timings.aggregate)}, stats ${ms(t.timings.statsWrite)}, history ${ms(t.timings.historyWrite)}, rerate ${ms(t.timings.rerate)}, derived ${ms(t.timings.derived)}`,
    ...(t.heaviest.length ? [`  heaviest members (rows): ${t.heaviest.map((h) => `${h.userId}(${h.rows})`).join(', ')}`] : []),
    ...r.csvFiles.map((f) => `  wrote ${f}`),
  ].join('\n');
}

/** Starts a backfill on its own (one at a time: a running one is named instead). Its id is its own: cutover/backfill/<start>. */
export async function startBackfill(stack: Stack, options: BackfillOptions): Promise<WorkflowHandle> {
  const client = stack.client!;
  const running = await loneBackfill(client);
  if (running?.status === 'RUNNING')
    throw new UsageError(
      `a backfill is already running (${running.workflowId}): follow it with \`status\`, or pause/resume/retune/cancel it`,
    );
  const workflowId = backfillWorkflowId(new Date());
  try {
    return await client.workflow.start(Backfill, {
      taskQueue: stack.config.temporal.taskQueue,
      workflowId,
      staticSummary: `backfill (phase A): ${options.userIds ? `${options.userIds.length} member(s)` : 'every member'}, concurrency ${options.concurrency}, batches of ${options.batchSize}`,
      args: [{ options }],
      typedSearchAttributes: [
        { key: CutoverPhase, value: 'backfill' },
        { key: CutoverState, value: 'running' },
      ],
    });
  } catch (e) {
    if (e instanceof WorkflowExecutionAlreadyStartedError) {
      throw new UsageError(`a backfill is already running (${workflowId}): follow it with \`status\`, or pause/resume/retune/cancel it`);
    }
    throw e;
  }
}

export function registerBackfill(program: Command): void {
  const collect = (v: string, prev: string[] = []) => [...prev, v];
  program
    .command('backfill')
    .description('Phase A: build memberStats, memberStatsHistory and memberMaxRating from the legacy and review data')
    .option('--user-id <id>', 'only this member (repeatable)', collect)
    .option('--user-ids <a,b,…>', 'only these members')
    .option('--track-id <uuid|name>', 'only this track (ChallengeTrack id or name, e.g. DEVELOPMENT)')
    .option('--type-id <uuid|name>', 'only this challenge type (ChallengeType id or name, e.g. Challenge, MARATHON_MATCH)')
    .option('--skip-history', 'do not write memberStatsHistory')
    .option('--skip-rerate', 'do not rate the Development challenges that follow the legacy data')
    .option(
      '--skip-ratings',
      'no rating work at all: no rating continuation, re-ranking or memberMaxRating (legacy values are still copied)',
    )
    .option('--restart', 'start over: ignore the committed batches of an unfinished earlier run with the same options')
    .option('--processed-user-ids-path <file>', 'write the ids of the members processed, one a line')
    .option('--concurrency <n>', 'batches in flight (1-32; retune while running with `retune`)')
    .option('--limit <n>', 'only the first N members by userId')
    .option('--batch-size <n>', 'members per batch (default 500)')
    .option('--csv-only', 'dry run: compute the rows and write CSV files, write nothing to the database')
    .option(
      '--csv-path <dir|file.csv>',
      '--csv-only output: a directory (memberStats.csv, memberStatsHistory.csv) or a file (history beside it)',
    )
    .option('--read-budget-ms <ms>', "the read API's p99 latency to protect: the run slows down or waits above it (default 200)")
    .option('--no-throttle', 'run at full concurrency whatever live reads feel (an idle platform, a maintenance window)')
    .option('--json', 'print a final JSON summary instead of the live progress bar')
    .action(async (flags: RawFlags) => {
      const options = parseBackfillFlags(flags);
      await withStack({}, async (stack) => {
        await checkBackfillTargets(stack, options);
        return withWorker(stack, stderrLog, async () => {
          const handle = await startBackfill(stack, options);
          if (!flags.json)
            stderrLog(
              `started ${handle.workflowId}${stack.temporal?.uiUrl ? ` — ${stack.temporal.uiUrl}/namespaces/${stack.config.temporal.namespace}/workflows/${encodeURIComponent(handle.workflowId)}` : ''}; Ctrl-C detaches`,
            );
          const result = await follow(handle, flags.json === true);
          process.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : `${summary(result)}\n`);
        });
      });
    });
}
