import {
  ApplicationFailure,
  condition,
  continueAsNew,
  executeChild,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  addBatch,
  BackfillOptions,
  rateAndEta,
  zeroTotals,
  type BackfillProgress,
  type BackfillTotals,
  type BatchResult,
} from '../domain/backfill';
import type { BackfillPlan } from '../activities/backfill';
import { backfillProgress, memberBackfillWorkflowId, pauseSignal, resumeSignal, setConcurrency } from './backfill-defs';
import { backfillMember } from './backfill-member';
import { CutoverPhase, CutoverState, CutoverTrack } from './search-attributes';
import { markFailure } from './failure';

/**
 * Batches retry until they succeed (a down database waits); bad config or input stops the run at once. Batches
 * heartbeat on a timer, so a dead worker is noticed after `heartbeatSeconds` and its batch (rolled back with the
 * connection) runs again elsewhere.
 */
function activities(heartbeatSeconds: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: `${heartbeatSeconds} seconds`,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: ['ReviewSchemaMissing', 'InvalidInput'] },
  });
}

/** Knobs for operators with unusual clusters, and for tests that must not wait minutes. */
export interface BackfillTuning {
  /** a batch is retried elsewhere when its worker is silent this long (default 30) */
  heartbeatSeconds?: number;
  /** events per run before continue-as-new (default 3000, well under Temporal's suggestion point) */
  historyBudget?: number;
}

export interface BackfillCarry {
  plan: BackfillPlan;
  next: number;
  totals: BackfillTotals;
  startedAt: number;
  /** time spent paused before this run: rate and ETA count working time only */
  pausedMs?: number;
  paused: boolean;
  concurrency: number;
}

export interface BackfillInput {
  options: BackfillOptions;
  tuning?: BackfillTuning;
  carry?: BackfillCarry;
}

export interface BackfillResult {
  options: BackfillOptions;
  plan: Omit<BackfillPlan, 'ranges'>;
  totals: BackfillTotals;
  ranksChanged: number;
  csvFiles: string[];
  seconds: number;
  membersPerSec: number;
  evidenceId: number;
}

/**
 * Phase A. prepare → batches over keyset ranges of userId (a sliding window of `concurrency` in flight; explicit
 * user ids run as single-member child workflows) → finalize (ranks, CSV assembly) → evidence.
 * Pause/resume take effect between batches; concurrency can be retuned while running.
 */
export async function backfill(input: BackfillInput): Promise<BackfillResult> {
  return markFailure(() => runBackfill(input));
}

async function runBackfill(input: BackfillInput): Promise<BackfillResult> {
  const options = BackfillOptions.parse(input.options);
  const tuning = input.tuning ?? {};
  const acts = activities(tuning.heartbeatSeconds ?? 30);
  const historyBudget = tuning.historyBudget ?? 3000;
  const carry = input.carry;
  let state: BackfillProgress['state'] = carry ? 'running' : 'preparing';
  const startedAt = carry?.startedAt ?? Date.now();
  let paused = carry?.paused ?? false;
  let pausedMs = carry?.pausedMs ?? 0;
  let pausedAt = paused ? Date.now() : 0;
  const workingMs = () => Date.now() - startedAt - pausedMs - (paused ? Date.now() - pausedAt : 0);
  let concurrency = carry?.concurrency ?? options.concurrency;
  let totals = carry?.totals ?? zeroTotals();
  let plan: BackfillPlan | undefined = carry?.plan;
  let next = carry?.next ?? 0;
  let inFlight = 0;
  let lastError: string | undefined;

  setHandler(backfillProgress, (): BackfillProgress => {
    const total = plan?.membersTotal ?? 0;
    return {
      state: paused && state === 'running' ? 'paused' : state,
      membersDone: totals.members,
      membersTotal: total,
      rowsWritten: totals.statsRows + totals.historyRows,
      batchesDone: totals.batches,
      batchesTotal: plan ? plan.ranges.length + plan.userIds.length : 0,
      inFlight,
      concurrency,
      ...rateAndEta(totals.members, total, workingMs()),
      totals,
      lastError,
    };
  });
  setHandler(pauseSignal, () => {
    if (!paused) pausedAt = Date.now();
    paused = true;
    upsertSearchAttributes([{ key: CutoverState, value: 'paused' }]);
  });
  setHandler(resumeSignal, () => {
    if (paused) pausedMs += Date.now() - pausedAt;
    paused = false;
    upsertSearchAttributes([{ key: CutoverState, value: 'running' }]);
  });
  setHandler(
    setConcurrency,
    (n: number) => {
      concurrency = n;
      return concurrency;
    },
    {
      validator: (n: number) => {
        if (!Number.isInteger(n) || n < 1 || n > 32) throw new Error(`concurrency must be a whole number from 1 to 32, got ${n}`);
      },
    },
  );

  upsertSearchAttributes([
    { key: CutoverPhase, value: 'backfill' },
    { key: CutoverState, value: paused ? 'paused' : 'running' },
  ]);

  if (!plan) plan = await acts.backfillPrepare(options);
  const p = plan;
  if (p.trackName) upsertSearchAttributes([{ key: CutoverTrack, value: p.trackName }]);
  state = 'running';
  const batchPlan = { trackId: p.trackId, fullRun: p.fullRun, runKey: p.runKey };

  // Work items: keyset ranges for full runs, one child workflow per explicit member.
  const items = p.ranges.length + p.userIds.length;
  const runItem = async (i: number): Promise<BatchResult> => {
    if (i < p.ranges.length) {
      return acts.backfillBatch({ scope: { range: p.ranges[i]! }, options, plan: batchPlan });
    }
    const userId = p.userIds[i - p.ranges.length]!;
    return executeChild(backfillMember, {
      workflowId: memberBackfillWorkflowId(userId),
      args: [{ userId, options, plan: batchPlan, refreshRanks: false }],
      parentClosePolicy: ParentClosePolicy.TERMINATE,
    });
  };

  const overBudget = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > historyBudget;
  while (next < items && !overBudget() && lastError === undefined) {
    await condition(() => (!paused && inFlight < concurrency) || lastError !== undefined);
    if (overBudget() || lastError !== undefined) break;
    const i = next++;
    inFlight++;
    void runItem(i).then(
      (r) => {
        totals = addBatch(totals, r);
        inFlight--;
      },
      (e: unknown) => {
        lastError = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
        inFlight--;
      },
    );
  }
  await condition(() => inFlight === 0);
  if (lastError) {
    state = 'failed';
    throw ApplicationFailure.nonRetryable(`backfill stopped: ${lastError}`, 'BackfillFailed');
  }
  if (next < items) {
    // Hand the remaining work to a fresh run before the history grows past a few thousand events.
    return continueAsNew<typeof backfill>({ options, tuning, carry: { plan: p, next, totals, startedAt, pausedMs: pausedMs + (paused ? Date.now() - pausedAt : 0), paused, concurrency } });
  }

  state = 'finalizing';
  upsertSearchAttributes([{ key: CutoverState, value: 'finalizing' }]);
  const fin = await acts.backfillFinalize({ options, plan: batchPlan });
  const seconds = workingMs() / 1000;
  const { ranges: _ranges, ...planSummary } = p;
  const result = {
    options: { ...options, concurrency },
    plan: planSummary,
    totals: { ...totals, staleRemoved: totals.staleRemoved + fin.orphansRemoved },
    ranksChanged: fin.ranksChanged,
    csvFiles: fin.csvFiles,
    seconds,
    membersPerSec: seconds > 0 ? totals.members / seconds : 0,
  };
  const { workflowId, runId } = workflowInfo();
  const evidenceId = await acts.storeEvidence({
    kind: 'backfill',
    workflowId,
    runId,
    passed: totals.members + totals.missingMembers > 0 || p.membersTotal === 0,
    input: options,
    result,
  });
  state = 'done';
  upsertSearchAttributes([{ key: CutoverState, value: 'done' }]);
  return { ...result, evidenceId };
}
