import type { Client } from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';
import type { BackfillProgress } from '../domain/backfill';
import type { Config } from '../domain/config';
import type { CutoverStatus } from '../domain/cutover';
import type { ParityGate } from '../domain/parity';
import { readSourceEnvWarning, type ReadSourceAuditEntry } from '../domain/read-source';
import { STREAMS, type RerateProgress } from '../domain/rerate';
import type { PreviewDiff } from '../domain/rerate-preview';
import { CutoverPhase, CutoverState } from '../domain/search-attributes';
import { hasWorker } from '../lib/temporal';
import { readCutover } from '../store/cutover';
import type { Databases } from '../store/db';
import { latestEvidence, type EvidenceSummary } from '../store/evidence';
import { currentParityGate } from '../store/parity/gate';
import { legacyReadCount } from '../store/legacy-reads';
import { getReadSource, readSourceHistory } from '../store/read-source';
import { reconcileLag } from '../store/refresh/reconcile';
import { openPreviews } from '../store/rerate/preview';
import { backfillProgress, LONE_BACKFILL_PREFIX } from '../workflows/backfill/messages';
import { cutoverStatus } from '../workflows/cutover/messages';
import { rerateProgress, rerateWorkflowId } from '../workflows/rerate/messages';

/**
 * Where the platform stands, from the tables and (when it answers) Temporal: what `status` prints and the
 * dashboard shows. Every part is read without a worker: a query that no worker answers is left out, not waited on.
 */

export interface StatusSources {
  dbs: Databases;
  config: Config;
  client?: Client;
  temporal?: { address?: string; uiUrl?: string };
  /** the parity gate (it hashes the tables for the data watermark): a caller that polls passes a cached one */
  parityGate?: () => Promise<ParityGate>;
}

export interface StatusReport {
  readSource: string;
  /** the read source's last switches, newest first (who, when, why) */
  switches: ReadSourceAuditEntry[];
  /** reads served from legacy, counted per route (the evidence that legacy is unused after the switch) */
  legacyReads: { total: number; lastReadAt: string | null; perRoute: Record<string, number> };
  /** the latest cutover: live from the workflow when it answers, else its mirror in platform."cutoverRun" */
  cutover?: CutoverStatus & { live: boolean };
  /** STATS_READ_SOURCE set to something other than the stored read source (which wins) */
  readSourceWarning?: string;
  evidence: EvidenceSummary[];
  workflows: Array<{
    workflowId: string;
    type: string;
    status: string;
    taskQueue: string;
    phase?: string;
    state?: string;
    startTime: string;
  }>;
  temporal: { address?: string; uiUrl?: string };
  /** whether a long-lived worker polls the task queue: running workflows make no progress without one */
  workerPolling: boolean;
  /** with no worker polling: the workflows that are running and waiting for one */
  stranded: string[];
  /** the running backfill's progress (the cutover's own backfill step, or a backfill run on its own) */
  backfill?: BackfillProgress & { workflowId: string };
  /** running stream rerates' progress */
  rerates: RerateProgress[];
  /** previews computed and neither promoted nor discarded: `rerate promote <run>` or `rerate discard <run>` */
  previews: Array<{ runKey: string; stream: string; startedAt: string; diff: PreviewDiff | null }>;
  /** phase E's reconciler: how far behind completed challenges it is */
  reconciler: { mark: string | null; behind: number; oldestBehind: string | null };
  /** the parity gate on the current data (evidence from before the data last changed does not count) */
  parityGate: ParityGate;
}

/**
 * The latest backfill started on its own (not a cutover's step): the running one if any, else the last to have
 * run. From the visibility store, which lags a start by a moment.
 */
export async function loneBackfill(client: Client): Promise<{ workflowId: string; status: string } | undefined> {
  let latest: { workflowId: string; status: string } | undefined;
  for await (const wf of client.workflow.list({ query: `WorkflowType = 'backfill'`, pageSize: 50 })) {
    if (wf.parentExecution || !wf.workflowId.startsWith(LONE_BACKFILL_PREFIX)) continue;
    const found = { workflowId: wf.workflowId, status: wf.status.name };
    if (found.status === 'RUNNING') return found;
    latest ??= found;
  }
  return latest;
}

/** A running workflow's progress query; undefined when it is not running (or no worker can answer right now). */
async function running<T>(client: Client | undefined, workflowId: string, query: QueryDefinition<T>): Promise<T | undefined> {
  if (!client) return undefined;
  try {
    const h = client.workflow.getHandle(workflowId);
    if ((await h.describe()).status.name !== 'RUNNING') return undefined;
    return await h.query(query);
  } catch {
    return undefined; // never started, or no worker to answer the query right now
  }
}

/** The latest runs on this deployment's task queue (the namespace may hold other deployments' runs). */
async function recentWorkflows(client: Client | undefined, taskQueue: string): Promise<StatusReport['workflows']> {
  const workflows: StatusReport['workflows'] = [];
  if (!client) return workflows;
  let seen = 0;
  for await (const wf of client.workflow.list({ pageSize: 100 })) {
    if (++seen > 500) break;
    if (wf.taskQueue !== taskQueue) continue;
    workflows.push({
      workflowId: wf.workflowId,
      type: wf.type,
      status: wf.status.name,
      taskQueue: wf.taskQueue,
      phase: wf.typedSearchAttributes.get(CutoverPhase),
      state: wf.typedSearchAttributes.get(CutoverState),
      startTime: wf.startTime.toISOString(),
    });
    if (workflows.length >= 20) break;
  }
  return workflows;
}

async function latestCutover(s: StatusSources): Promise<StatusReport['cutover']> {
  const m = await readCutover(s.dbs.members);
  if (!m) return undefined;
  const live = await s.client?.workflow
    .getHandle(m.workflowId)
    .query(cutoverStatus)
    .catch(() => undefined);
  return { ...(live ?? m.status), live: live !== undefined };
}

/** The backfill running now: the cutover's backfill step's child while it runs, else a backfill started on its own. */
async function runningBackfill(s: StatusSources, cutover: StatusReport['cutover']): Promise<StatusReport['backfill']> {
  const step = cutover?.steps.find((x) => x.step === 'backfill' && x.status === 'running' && x.childWorkflowId);
  const lone = s.client ? await loneBackfill(s.client).catch(() => undefined) : undefined;
  for (const workflowId of [step?.childWorkflowId, lone?.status === 'RUNNING' ? lone.workflowId : undefined]) {
    if (!workflowId) continue;
    const p = await running(s.client, workflowId, backfillProgress);
    if (p) return { ...p, workflowId };
  }
  return undefined;
}

/** Running workflows on the task queue (the visibility list, and the cutover from its mirror). */
function stranded(taskQueue: string, cutover: StatusReport['cutover'], workflows: StatusReport['workflows']): string[] {
  // the workflows on the task queue nobody polls (the namespace may hold other deployments' runs)
  const ids = new Set(workflows.filter((w) => w.status === 'RUNNING' && w.taskQueue === taskQueue).map((w) => w.workflowId));
  if (cutover && !['done', 'aborted'].includes(cutover.state)) ids.add(`cutover/${cutover.name}`);
  return [...ids].sort();
}

export async function collectStatus(sources: StatusSources): Promise<StatusReport> {
  const workerPolling = sources.client
    ? await hasWorker(sources.client, sources.config.temporal.namespace, sources.config.temporal.taskQueue, { now: true }).catch(() => true)
    : false;
  // a query no worker answers waits for one: without a worker, progress comes from the tables alone
  const s = workerPolling ? sources : { ...sources, client: undefined };
  const readSource = await getReadSource(s.dbs.members);
  const cutover = await latestCutover(s);
  const workflows = await recentWorkflows(sources.client, sources.config.temporal.taskQueue);
  const legacy = await legacyReadCount(s.dbs.members);
  return {
    readSource,
    switches: await readSourceHistory(s.dbs.members, 5),
    legacyReads: {
      total: legacy.total,
      lastReadAt: legacy.lastReadAt,
      perRoute: Object.fromEntries(legacy.perRoute.map((r) => [r.route, r.count])),
    },
    ...(cutover ? { cutover } : {}),
    readSourceWarning: readSourceEnvWarning(s.config.statsReadSource, readSource),
    backfill: await runningBackfill(s, cutover),
    rerates: (
      await Promise.all(STREAMS.map((st) => running(s.client, rerateWorkflowId(st, s.config.temporal.taskQueue), rerateProgress)))
    ).filter((p): p is RerateProgress => p !== undefined),
    previews: (await openPreviews(s.dbs.members)).map((p) => ({ ...p, startedAt: p.startedAt.toISOString() })),
    reconciler: await reconcileLag(s.dbs).then((l) => ({
      mark: l.mark ? `${l.mark.endDate} ${l.mark.challengeId}` : null,
      behind: l.behind,
      oldestBehind: l.oldestBehind?.toISOString() ?? null,
    })),
    parityGate: await (sources.parityGate ?? (() => currentParityGate(s.dbs.members)))(),
    evidence: await latestEvidence(s.dbs.members),
    workflows,
    workerPolling,
    stranded: workerPolling || !sources.client ? [] : stranded(sources.config.temporal.taskQueue, cutover, workflows),
    temporal: { address: s.temporal?.address, uiUrl: s.temporal?.uiUrl },
  };
}
