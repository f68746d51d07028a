import type { Client } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { SEQUENCER } from '../../../domain/refresh';
import { STREAMS } from '../../../domain/rerate';
import { figures, type Figures } from './driver';

/**
 * Where the Temporal path's time goes, from the workflows' event histories (server timestamps): per refresh
 * workflow, the members activity (queued, run), handing the end to the sequencer (a workflow task and the
 * signal-with-start activity), waiting for the sequencer's answer, the evidence activity, and what is left
 * (workflow tasks, round trips); per sequencer, its rateEnded activities and the rerate children it ran.
 */

export interface RefreshProfile {
  workflows: number;
  /** ms, per refresh workflow */
  workflowMs: Figures;
  /** start → members activity scheduled (the first workflow task) */
  firstTaskMs: Figures;
  membersQueuedMs: Figures;
  membersRunMs: Figures;
  /** members done → requestRating done (a workflow task, the activity's signal-with-start) */
  handOffMs: Figures;
  /** requestRating done → the sequencer's answer (signal) */
  ratingWaitMs: Figures;
  /** → evidence stored (a workflow task, the activity) */
  evidenceMs: Figures;
  /** evidence stored → completed */
  closeMs: Figures;
  workflowTasks: { perWorkflow: number; msEach: Figures };
  /** the call's latency minus its workflow's run: the route, the start and the result's long poll */
  httpOverheadMs: Figures;
  /** activities that needed more than one attempt (each retry waits RETRY_UNTIL_UP's backoff), and the first cause */
  retried: number;
  retryCause?: string;
}

export interface SequencerProfile {
  rateEnded: { count: number; runMs: Figures; queuedMs: Figures; retried: number; retryCause?: string };
  rerates: { count: number; ms: Figures };
}

const T = proto.api.enums.v1.EventType;
const tsMs = (ts: { seconds?: { toString(): string } | number | null; nanos?: number | null } | null | undefined) =>
  ts ? Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6) : 0;

interface Activity {
  type: string;
  scheduled: number;
  started?: number;
  completed?: number;
  /** the attempt that completed (1: no retry) and why the one before it failed */
  attempt: number;
  lastFailure?: string;
}

function walk(history: proto.api.history.v1.IHistory) {
  const acts = new Map<string, Activity>();
  const taskScheduled = new Map<string, number>();
  const tasks: number[] = [];
  const signals: number[] = [];
  const children = new Map<string, { started: number; completed?: number }>();
  let start = 0;
  let end = 0;
  for (const e of history.events ?? []) {
    const at = tsMs(e.eventTime);
    const id = String(e.eventId);
    switch (e.eventType) {
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        start = at;
        break;
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
        end = at;
        break;
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        signals.push(at);
        break;
      case T.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
        taskScheduled.set(id, at);
        break;
      case T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: {
        const s = taskScheduled.get(String(e.workflowTaskCompletedEventAttributes?.scheduledEventId));
        if (s !== undefined) tasks.push(at - s);
        break;
      }
      case T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        acts.set(id, { type: e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?', scheduled: at, attempt: 1 });
        break;
      case T.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
        const attrs = e.activityTaskStartedEventAttributes;
        const a = acts.get(String(attrs?.scheduledEventId));
        if (a) {
          a.started = at;
          a.attempt = attrs?.attempt ?? 1;
          if (attrs?.lastFailure?.message) a.lastFailure = attrs.lastFailure.message;
        }
        break;
      }
      case T.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
        const a = acts.get(String(e.activityTaskCompletedEventAttributes?.scheduledEventId));
        if (a) a.completed = at;
        break;
      }
      case T.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        children.set(id, { started: at });
        break;
      case T.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
      case T.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED: {
        const attrs = e.childWorkflowExecutionCompletedEventAttributes ?? e.childWorkflowExecutionFailedEventAttributes;
        const c = children.get(String(attrs?.initiatedEventId));
        if (c) c.completed = at;
        break;
      }
    }
  }
  return { start, end, acts: [...acts.values()], tasks, signals, children: [...children.values()] };
}

/** `calls`: workflow id → the call's latency (ms) as the caller saw it. */
export async function profileRefreshes(client: Client, calls: ReadonlyMap<string, number>, sample = 150): Promise<RefreshProfile> {
  const acc = {
    workflowMs: [] as number[],
    firstTaskMs: [] as number[],
    membersQueuedMs: [] as number[],
    membersRunMs: [] as number[],
    handOffMs: [] as number[],
    ratingWaitMs: [] as number[],
    evidenceMs: [] as number[],
    closeMs: [] as number[],
    tasks: [] as number[],
    taskCount: 0,
    httpOverheadMs: [] as number[],
    retried: 0,
    retryCause: undefined as string | undefined,
  };
  const ids = [...calls.keys()];
  const step = Math.max(1, Math.floor(ids.length / sample));
  let n = 0;
  for (let i = 0; i < ids.length; i += step) {
    const h = walk(await client.workflow.getHandle(ids[i]!).fetchHistory());
    if (!h.end) continue;
    n++;
    const members = h.acts.find((a) => a.type === 'refreshChallengeMembers');
    const request = h.acts.find((a) => a.type === 'requestRating');
    const evidence = h.acts.find((a) => a.type === 'storeEvidence');
    acc.workflowMs.push(h.end - h.start);
    acc.httpOverheadMs.push(calls.get(ids[i]!)! - (h.end - h.start));
    acc.tasks.push(...h.tasks);
    for (const a of h.acts.filter((x) => x.attempt > 1)) {
      acc.retried++;
      acc.retryCause ??= `${a.type}: ${a.lastFailure ?? '?'}`;
    }
    acc.taskCount += h.tasks.length;
    if (members?.started !== undefined && members.completed !== undefined) {
      acc.firstTaskMs.push(members.scheduled - h.start);
      acc.membersQueuedMs.push(members.started - members.scheduled);
      acc.membersRunMs.push(members.completed - members.started);
    }
    let before = members?.completed ?? h.start;
    if (request?.completed !== undefined) {
      acc.handOffMs.push(request.completed - before);
      const answered = h.signals.find((s) => s >= request.completed!) ?? request.completed;
      acc.ratingWaitMs.push(answered - request.completed);
      before = answered;
    }
    if (evidence?.completed !== undefined) {
      acc.evidenceMs.push(evidence.completed - before);
      acc.closeMs.push(h.end - evidence.completed);
    }
  }
  return {
    workflows: n,
    workflowMs: figures(acc.workflowMs),
    firstTaskMs: figures(acc.firstTaskMs),
    membersQueuedMs: figures(acc.membersQueuedMs),
    membersRunMs: figures(acc.membersRunMs),
    handOffMs: figures(acc.handOffMs),
    ratingWaitMs: figures(acc.ratingWaitMs),
    evidenceMs: figures(acc.evidenceMs),
    closeMs: figures(acc.closeMs),
    workflowTasks: { perWorkflow: n ? Math.round((acc.taskCount / n) * 10) / 10 : 0, msEach: figures(acc.tasks) },
    httpOverheadMs: figures(acc.httpOverheadMs),
    retried: acc.retried,
    ...(acc.retryCause ? { retryCause: acc.retryCause } : {}),
  };
}

/** Both streams' sequencers on the task queue, every run (continue-as-new), events within [from, to] (ms). */
export async function profileSequencers(client: Client, taskQueue: string, from: number, to: number): Promise<SequencerProfile> {
  const run: number[] = [];
  const queued: number[] = [];
  const rerates: number[] = [];
  let retried = 0;
  let retryCause: string | undefined;
  for (const stream of STREAMS) {
    const id = SEQUENCER.workflowId(taskQueue, stream);
    for await (const w of client.workflow.list({ query: `WorkflowId = '${id}'` })) {
      const h = walk(await client.workflow.getHandle(id, w.runId).fetchHistory());
      for (const a of h.acts) {
        if (a.type !== 'rateEnded' || a.started === undefined || a.completed === undefined) continue;
        if (a.scheduled < from || a.scheduled > to) continue;
        run.push(a.completed - a.started);
        queued.push(a.started - a.scheduled);
        if (a.attempt > 1) {
          retried++;
          retryCause ??= a.lastFailure;
        }
      }
      for (const c of h.children)
        if (c.completed !== undefined && c.started >= from && c.started <= to) rerates.push(c.completed - c.started);
    }
  }
  return {
    rateEnded: { count: run.length, runMs: figures(run), queuedMs: figures(queued), retried, ...(retryCause ? { retryCause } : {}) },
    rerates: { count: rerates.length, ms: figures(rerates) },
  };
}
