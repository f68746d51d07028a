import { ApplicationFailure, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { Failure } from '../../domain/failures';
import { RerateOptions, type ChunkResult, type RerateFinal, type RerateOptionsInput, type ReratePlan } from '../../domain/rerate';
import { CutoverPhase, CutoverState } from '../../domain/search-attributes';
import { markFailure } from '../support/failure';
import { batchActivity, evidenceActivity } from '../support/policies';
import { throttleWhile } from '../support/throttle';
import { slidingWindow } from '../support/window';
import { rerateConcurrency, reratePause, rerateProgress, rerateResume } from './messages';
import { RerateState } from './state';

export interface RerateInput {
  options: RerateOptionsInput;
  /** a chunk is retried elsewhere when its worker is silent this long (default 30) */
  heartbeatSeconds?: number;
}

export interface RerateResult {
  options: RerateOptions;
  plan: ReratePlan;
  chunks: { written: number; rows: number; resumed: number };
  final: RerateFinal;
  seconds: number;
  eventsPerSec: number;
  evidenceId: number;
}

/**
 * Phase D, one rating stream. prepare (the stream replayed by the engine in memory, from --from on, cut into
 * chunks of events) → chunks written, `concurrency` at a time, each in its own transaction with its checkpoint →
 * finalize (mostRecent, stats rows, ranks, memberMaxRating) → evidence. Pause, resume and retune between chunks;
 * throttled for live reads like the backfill.
 */
export async function rerate(input: RerateInput): Promise<RerateResult> {
  return markFailure(() => runRerate(input));
}

async function runRerate(input: RerateInput): Promise<RerateResult> {
  const options = RerateOptions.parse(input.options);
  const acts = proxyActivities<Activities>(batchActivity(input.heartbeatSeconds ?? 30));
  const evidence = proxyActivities<Activities>(evidenceActivity);
  const s = new RerateState(options.concurrency);
  setHandler(rerateProgress, () => s.progress());
  setHandler(reratePause, () => s.pause());
  setHandler(rerateResume, () => s.resume());
  setHandler(rerateConcurrency, (n: number) => s.setConcurrency(n), { validator: RerateState.validateConcurrency });
  upsertSearchAttributes([
    { key: CutoverPhase, value: 'rerate' },
    { key: CutoverState, value: 'running' },
  ]);

  // 1. prepare: the replay and its chunks
  const plan = await acts.reratePrepare(options);
  s.plan = plan;
  s.phase = 'running';

  // 2. chunks, throttled for live reads
  s.throttling = options.throttle.enabled;
  let windowDone = false;
  const probing = throttleWhile(s, options.throttle, () => windowDone);
  await slidingWindow<ChunkResult>({
    total: plan.chunks,
    cursor: s.cursor,
    concurrency: () => s.inFlightLimit(),
    paused: () => s.paused,
    stopped: () => s.lastError !== undefined,
    run: (chunk) => acts.rerateChunk({ plan, chunk }),
    onResult: (r) => s.chunkDone(r),
    onError: (e) => s.itemFailed(e),
  });
  windowDone = true;
  await probing;
  const { workflowId, runId } = workflowInfo();
  if (s.lastError) {
    s.phase = 'failed';
    upsertSearchAttributes([{ key: CutoverState, value: 'failed' }]);
    await evidence.storeEvidence({
      kind: 'rerate',
      workflowId,
      runId,
      passed: false,
      input: options,
      result: { error: s.lastError, plan },
    });
    throw ApplicationFailure.nonRetryable(`rerate stopped: ${s.lastError}`, Failure.RerateFailed);
  }

  // 3. finalize
  s.phase = 'finalizing';
  upsertSearchAttributes([{ key: CutoverState, value: 'finalizing' }]);
  const final = await acts.rerateFinalize(plan);
  const seconds = s.workingMs() / 1000;
  const result = {
    options,
    plan,
    chunks: {
      written: s.rowsWritten(),
      rows: s.chunks.reduce((n, c) => n + c.rows, 0),
      resumed: s.chunks.filter((c) => c.resumed).length,
    },
    final,
    seconds,
    eventsPerSec: seconds > 0 ? plan.events / seconds : 0,
  };

  // 4. evidence: the go/no-go gates ask whether a member of each stream was rerated (a preview is not, until promoted)
  const evidenceId = await evidence.storeEvidence({
    kind: options.preview ? 'rerate-preview' : 'rerate',
    workflowId,
    runId,
    passed: plan.membersTouched > 0,
    input: options,
    result: { ...result, stream: plan.stream },
  });
  s.phase = 'done';
  upsertSearchAttributes([{ key: CutoverState, value: 'done' }]);
  return { ...result, evidenceId };
}
