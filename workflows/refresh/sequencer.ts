import {
  CancellationScope,
  condition,
  continueAsNew,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import {
  ratingOrder,
  type RatingDone,
  type RatingRequest,
  type SequencerInput,
  type StreamRerateDone,
  type StreamRerateRequest,
} from '../../domain/refresh';
import { CutoverPhase, CutoverState } from '../../domain/search-attributes';
import { rootMessage } from '../support/failure';
import { batchActivity } from '../support/policies';
import { rerate } from '../rerate/workflow';
import { rerateWorkflowId } from '../rerate/messages';
import {
  ratingDone,
  ratingRequested,
  rerateDone,
  rerateRequested,
  rerateWithdrawn,
  sequencerProgress,
  type SequencerProgress,
} from './messages';

const acts = proxyActivities<Activities>(batchActivity(30));

/** Stream rerate request ids remembered (and carried over a continue-as-new) to run a repeated one once. */
const REMEMBERED_RERATES = 200;

/** Requests handled before the history is handed over (continue-as-new). */
const HANDOVER_AFTER = 500;

/**
 * Phase E, one rating stream: challenge ends arrive in any order (signal-with-start) and are rated in the engine's
 * order, end date then id. Whatever is pending is rated together from its earliest end; when that would rewrite an
 * event rated before (a late or reordered end), it is phase D's rerate from that end forward, so the stream always
 * equals an in-order replay. Each waiting refresh is told when its challenge is rated. Idle for 10 minutes, it
 * finishes; the next end starts it again.
 */
export async function ratingSequencer(input: SequencerInput): Promise<{ handled: number }> {
  const pending: RatingRequest[] = [...(input.pending ?? [])];
  const rerates: StreamRerateRequest[] = [...(input.rerates ?? [])];
  const progress: SequencerProgress = { stream: input.stream, pending: 0, rated: 0, rerates: 0 };
  setHandler(ratingRequested, (r) => void pending.push(r));
  // a request signalled twice (the requester's activity redone after its completion was lost) runs once
  const seen = [...(input.rerateIds ?? [])];
  const remember = (id: string) => {
    seen.push(id);
    if (seen.length > REMEMBERED_RERATES) seen.shift();
  };
  setHandler(rerateRequested, (r) => {
    if (seen.includes(r.requestId)) return;
    remember(r.requestId);
    rerates.push(r);
  });
  let running: { requestId: string; scope: CancellationScope } | undefined;
  setHandler(rerateWithdrawn, ({ requestId }) => {
    const queued = rerates.findIndex((r) => r.requestId === requestId);
    if (queued >= 0) rerates.splice(queued, 1);
    else if (running?.requestId === requestId) running.scope.cancel();
  });
  setHandler(sequencerProgress, () => ({
    ...progress,
    pending: pending.length,
    reratesQueued: rerates.length,
    rerateRunning: running !== undefined,
  }));
  upsertSearchAttributes([
    { key: CutoverPhase, value: 'refresh' },
    { key: CutoverState, value: 'running' },
  ]);
  let handled = 0;
  for (;;) {
    if (!(await condition(() => pending.length > 0 || rerates.length > 0, '10 minutes'))) break;
    const operator = rerates.shift();
    if (operator) {
      const scope = new CancellationScope();
      running = { requestId: operator.requestId, scope };
      await runStreamRerate(input, operator, scope);
      running = undefined;
      progress.rerates++;
      handled++;
      continue;
    }
    const batch = pending.splice(0, pending.length).sort(ratingOrder);
    const ids = [...new Set(batch.map((r) => r.challengeId))];
    const r = await acts.rateEnded({ stream: input.stream, challengeIds: ids });
    const done = new Map<string, RatingDone>(r.done.map((d) => [d.challengeId, d]));
    if (r.rerateFrom) {
      progress.rerates++;
      await executeChild(rerate, {
        workflowId: `${workflowInfo().workflowId}/rerate/${r.rerateFrom}/${uuid4()}`,
        args: [{ options: { stream: input.stream, from: r.rerateFrom, throttle: { enabled: false } } }],
      });
      for (const id of await acts.recordRatedFrom({ stream: input.stream, from: r.rerateFrom }))
        done.set(id, { challengeId: id, rows: 0, rerateFrom: r.rerateFrom });
    }
    progress.rated += done.size;
    for (const req of batch) {
      if (!req.replyTo) continue;
      const answer = done.get(req.challengeId) ?? { challengeId: req.challengeId, rows: 0 };
      // the refresh may have gone (terminated, timed out): nobody is left to tell
      await getExternalWorkflowHandle(req.replyTo)
        .signal(ratingDone, answer)
        .catch(() => undefined);
    }
    handled += batch.length;
    if (handled >= HANDOVER_AFTER || workflowInfo().continueAsNewSuggested)
      await continueAsNew<typeof ratingSequencer>({ stream: input.stream, taskQueue: input.taskQueue, pending, rerates, rerateIds: seen });
  }
  upsertSearchAttributes([{ key: CutoverState, value: 'done' }]);
  return { handled };
}

/**
 * An operator's stream rerate, as the child an operator would start (same workflow id, so `rerate pause|resume
 * --stream` steer it); its outcome, failure included, goes back to whoever asked.
 */
async function runStreamRerate(input: SequencerInput, req: StreamRerateRequest, scope: CancellationScope): Promise<void> {
  const { stream } = input;
  const workflowId = rerateWorkflowId(stream, input.taskQueue ?? workflowInfo().taskQueue);
  let answer: StreamRerateDone;
  try {
    // in a scope of its own: a withdrawn request cancels the child (its chunks committed so far stay, checkpointed)
    const r = await scope.run(() =>
      executeChild(rerate, {
        workflowId,
        args: [
          {
            options: {
              ...req.options,
              stream,
              ...(req.from ? { from: req.from } : {}),
              ...(req.concurrency ? { concurrency: req.concurrency } : {}),
            },
          },
        ],
      }),
    );
    answer = { requestId: req.requestId, workflowId, evidenceId: r.evidenceId, rows: r.chunks.rows };
  } catch (e) {
    answer = { requestId: req.requestId, workflowId, error: isCancellation(e) ? 'withdrawn by its requester' : rootMessage(e) };
  }
  if (req.replyTo)
    await getExternalWorkflowHandle(req.replyTo)
      .signal(rerateDone, answer)
      .catch(() => undefined);
}
