import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  executeChild,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import {
  BackfillOptions,
  batchPlanOf,
  type BackfillOptionsInput,
  type BackfillPlan,
  type BackfillTotals,
  type BatchResult,
} from '../../domain/backfill';
import { Failure } from '../../domain/failures';
import { CutoverPhase, CutoverState, CutoverTrack } from '../../domain/search-attributes';
import { markFailure } from '../support/failure';
import { batchActivity } from '../support/policies';
import { throttleWhile } from '../support/throttle';
import { slidingWindow } from '../support/window';
import { backfillMember } from './member';
import { backfillProgress, memberBackfillWorkflowId, pauseSignal, resumeSignal, setConcurrency } from './messages';
import { BackfillState, type BackfillCarry } from './state';

export type { BackfillCarry } from './state';

/** Knobs for operators with unusual clusters, and for tests that must not wait minutes. */
export interface BackfillTuning {
  /** a batch is retried elsewhere when its worker is silent this long (default 30) */
  heartbeatSeconds?: number;
  /** events per run before continue-as-new (default 3000, well under Temporal's suggestion point) */
  historyBudget?: number;
  /** attempts a batch gets for an error that is not an outage before the run stops (default 5) */
  batchAttempts?: number;
}

export interface BackfillInput {
  options: BackfillOptionsInput;
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
 * Pause/resume take effect between batches; concurrency can be retuned while running. Batches retry until they
 * succeed (a down database waits); bad config or input stops the run at once.
 */
export async function backfill(input: BackfillInput): Promise<BackfillResult> {
  return markFailure(() => runBackfill(input));
}

async function runBackfill(input: BackfillInput): Promise<BackfillResult> {
  const options = BackfillOptions.parse(input.options);
  const tuning = input.tuning ?? {};
  const acts = proxyActivities<Activities>(batchActivity(tuning.heartbeatSeconds ?? 30));
  const historyBudget = tuning.historyBudget ?? 3000;
  const s = new BackfillState(options.concurrency, input.carry);

  setHandler(backfillProgress, () => s.progress());
  // the Web UI's current details follow every change (no command: replays are unaffected)
  const details = () => setCurrentDetails(s.details());
  setHandler(pauseSignal, () => (s.pause(), details()));
  setHandler(resumeSignal, () => (s.resume(), details()));
  setHandler(setConcurrency, (n: number) => s.setConcurrency(n), { validator: BackfillState.validateConcurrency });

  upsertSearchAttributes([
    { key: CutoverPhase, value: 'backfill' },
    { key: CutoverState, value: s.paused ? 'paused' : 'running' },
  ]);

  // 1. prepare: the track and the member ranges (once per run; a continued run carries them)
  s.plan ??= await acts.backfillPrepare(options);
  const plan = s.plan;
  if (plan.trackName) upsertSearchAttributes([{ key: CutoverTrack, value: plan.trackName }]);
  s.phase = 'running';
  details();
  const batchPlan = batchPlanOf(plan);
  // live reads first (runs recorded before throttling existed replay without it)
  s.throttling = options.throttle.enabled && patched('backfill-throttle');
  let windowDone = false;
  const probing = throttleWhile(s, options.throttle, () => windowDone);

  // 2. batches: keyset ranges for full runs, one child workflow per explicit member
  const runItem = async (i: number): Promise<BatchResult> => {
    if (i < plan.ranges.length) {
      return acts.backfillBatch({ scope: { range: plan.ranges[i]! }, options, plan: batchPlan, maxAttempts: tuning.batchAttempts });
    }
    const userId = plan.userIds[i - plan.ranges.length]!;
    return executeChild(backfillMember, {
      workflowId: memberBackfillWorkflowId(userId),
      args: [{ userId, options, plan: batchPlan, refreshRanks: false }],
      parentClosePolicy: ParentClosePolicy.TERMINATE,
    });
  };
  const allStarted = await slidingWindow({
    total: s.items(),
    cursor: s.cursor,
    concurrency: () => s.inFlightLimit(),
    paused: () => s.paused,
    stopped: () => s.lastError !== undefined,
    handOver: () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > historyBudget,
    run: runItem,
    onResult: (r) => (s.batchDone(r), details()),
    onError: (e) => s.batchFailed(e),
  });
  windowDone = true;
  await probing;
  if (s.lastError) {
    // stopped: the error and what was done are on record (status shows them), then the run fails naming it
    s.phase = 'failed';
    upsertSearchAttributes([{ key: CutoverState, value: 'failed' }]);
    setCurrentDetails(`backfill stopped: ${s.lastError}`);
    const { workflowId, runId } = workflowInfo();
    await acts.storeEvidence({
      kind: 'backfill',
      workflowId,
      runId,
      passed: false,
      input: options,
      result: { error: s.lastError, totals: s.totals, membersTotal: plan.membersTotal },
    });
    throw ApplicationFailure.nonRetryable(`backfill stopped: ${s.lastError}`, Failure.BackfillFailed);
  }
  if (!allStarted) {
    // hand the remaining work to a fresh run before the history grows past a few thousand events
    await condition(allHandlersFinished);
    return continueAsNew<typeof backfill>({ options, tuning, carry: s.carry() });
  }

  // 3. finalize: orphans, ranks for the partitions touched, CSV assembly
  s.phase = 'finalizing';
  upsertSearchAttributes([{ key: CutoverState, value: 'finalizing' }]);
  details();
  const fin = await acts.backfillFinalize({ options, plan: batchPlan });
  const seconds = s.workingMs() / 1000;
  const { ranges: _ranges, ...planSummary } = plan;
  const totals = s.totals;
  const result = {
    options: { ...options, concurrency: s.concurrency },
    plan: planSummary,
    totals: { ...totals, staleRemoved: totals.staleRemoved + fin.orphansRemoved },
    ranksChanged: fin.ranksChanged,
    csvFiles: fin.csvFiles,
    seconds,
    membersPerSec: seconds > 0 ? totals.members / seconds : 0,
  };

  // 4. evidence
  const { workflowId, runId } = workflowInfo();
  const evidenceId = await acts.storeEvidence({
    kind: 'backfill',
    workflowId,
    runId,
    passed: totals.members + totals.missingMembers > 0 || plan.membersTotal === 0,
    input: options,
    result,
  });
  s.phase = 'done';
  upsertSearchAttributes([{ key: CutoverState, value: 'done' }]);
  setCurrentDetails(
    `backfill done · ${totals.members.toLocaleString('en-US')} members, ${(totals.statsRows + totals.historyRows).toLocaleString('en-US')} rows in ${Math.round(seconds)} s · evidence #${evidenceId}`,
  );
  return { ...result, evidenceId };
}
