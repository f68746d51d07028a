import { latestEvidence, type EvidenceSummary } from '../../store/evidence';
import { getReadSource } from '../../store/read-source';
import type { CutoverStatus } from '../../domain/cutover';
import { readCutover } from '../../store/cutover';
import { cutoverStatus } from '../../workflows/cutover/messages';
import { formatCutover } from './cutover-view';
import type { Stack } from '../../lib/stack';
import { currentParityGate } from '../../store/parity/gate';
import type { BackfillProgress } from '../../domain/backfill';
import type { ParityGate } from '../../domain/parity';
import { readSourceEnvWarning } from '../../domain/read-source';
import { BACKFILL_WORKFLOW_ID, backfillProgress } from '../../workflows/backfill/messages';
import { CutoverPhase, CutoverState } from '../../domain/search-attributes';
import type { QueryDefinition } from '@temporalio/common';
import { STREAMS, type RerateProgress } from '../../domain/rerate';
import type { PreviewDiff } from '../../domain/rerate-preview';
import { openPreviews } from '../../store/rerate/preview';
import { reconcileLag } from '../../store/refresh/reconcile';
import { rerateProgress, rerateWorkflowId } from '../../workflows/rerate/messages';

export interface StatusReport {
  readSource: string;
  /** the latest cutover: live from the workflow when it answers, else its mirror in platform."cutoverRun" */
  cutover?: CutoverStatus & { live: boolean };
  /** STATS_READ_SOURCE set to something other than the stored read source (which wins) */
  readSourceWarning?: string;
  evidence: EvidenceSummary[];
  workflows: Array<{ workflowId: string; type: string; status: string; phase?: string; state?: string; startTime: string }>;
  temporal: { address?: string; uiUrl?: string };
  /** the running backfill's progress, when one runs */
  backfill?: BackfillProgress;
  /** running stream rerates' progress */
  rerates: RerateProgress[];
  /** previews computed and neither promoted nor discarded: `rerate promote <run>` or `rerate discard <run>` */
  previews: Array<{ runKey: string; stream: string; startedAt: string; diff: PreviewDiff | null }>;
  /** phase E's reconciler: how far behind completed challenges it is */
  reconciler: { mark: string | null; behind: number; oldestBehind: string | null };
  /** the parity gate on the current data (evidence from before the data last changed does not count) */
  parityGate: ParityGate;
}

/** A running workflow's progress query; undefined when it is not running (or no worker can answer right now). */
async function running<T>(stack: Stack, workflowId: string, query: QueryDefinition<T>): Promise<T | undefined> {
  if (!stack.client) return undefined;
  try {
    const h = stack.client.workflow.getHandle(workflowId);
    if ((await h.describe()).status.name !== 'RUNNING') return undefined;
    return await h.query(query);
  } catch {
    return undefined; // never started, or no worker to answer the query right now
  }
}

export async function collectStatus(stack: Stack): Promise<StatusReport> {
  const readSource = await getReadSource(stack.dbs.members);
  const workflows: StatusReport['workflows'] = [];
  if (stack.client) {
    for await (const wf of stack.client.workflow.list({ pageSize: 20 })) {
      workflows.push({
        workflowId: wf.workflowId,
        type: wf.type,
        status: wf.status.name,
        phase: wf.typedSearchAttributes.get(CutoverPhase),
        state: wf.typedSearchAttributes.get(CutoverState),
        startTime: wf.startTime.toISOString(),
      });
      if (workflows.length >= 20) break;
    }
  }
  return {
    readSource,
    ...(await latestCutover(stack)),
    readSourceWarning: readSourceEnvWarning(stack.config.statsReadSource, readSource),
    backfill: await running(stack, BACKFILL_WORKFLOW_ID, backfillProgress),
    rerates: (
      await Promise.all(STREAMS.map((st) => running(stack, rerateWorkflowId(st, stack.config.temporal.taskQueue), rerateProgress)))
    ).filter((p): p is RerateProgress => p !== undefined),
    previews: (await openPreviews(stack.dbs.members)).map((p) => ({ ...p, startedAt: p.startedAt.toISOString() })),
    reconciler: await reconcileLag(stack.dbs).then((l) => ({
      mark: l.mark ? `${l.mark.endDate} ${l.mark.challengeId}` : null,
      behind: l.behind,
      oldestBehind: l.oldestBehind?.toISOString() ?? null,
    })),
    parityGate: await currentParityGate(stack.dbs.members),
    evidence: await latestEvidence(stack.dbs.members),
    workflows,
    temporal: { address: stack.temporal?.address, uiUrl: stack.temporal?.uiUrl },
  };
}

async function latestCutover(stack: Stack): Promise<Pick<StatusReport, 'cutover'>> {
  const m = await readCutover(stack.dbs.members);
  if (!m) return {};
  const live = await stack.client?.workflow
    .getHandle(m.workflowId)
    .query(cutoverStatus)
    .catch(() => undefined);
  return { cutover: { ...(live ?? m.status), live: live !== undefined } };
}

export function formatStatus(s: StatusReport): string {
  const out = [
    `Read source: ${s.readSource}`,
    ...(s.readSourceWarning ? [`  WARNING: ${s.readSourceWarning}`] : []),
    `Temporal: ${s.temporal.address ?? '-'}${s.temporal.uiUrl ? ` (Web UI ${s.temporal.uiUrl})` : ''}`,
  ];
  if (s.cutover) out.push(`${formatCutover(s.cutover)}${s.cutover.live ? '' : '\n  (as last mirrored: the workflow did not answer)'}`);
  if (s.backfill) {
    const b = s.backfill;
    out.push(
      `Backfill ${b.state}: ${b.membersDone}/${b.membersTotal} members, ${b.rowsWritten} rows, ${b.membersPerSec.toFixed(0)}/s, ` +
        `ETA ${b.etaSeconds === null ? '–' : `${Math.ceil(b.etaSeconds)} s`}, ${b.inFlight}/${b.concurrency} batches in flight`,
    );
    if (b.state === 'throttled' && b.throttle)
      out.push(`  throttled for live reads: ${b.throttle.allowed} of ${b.concurrency} batches allowed — ${b.throttle.reasons.join('; ')}`);
  }
  for (const r of s.rerates) {
    out.push(
      `Rerate ${r.stream ?? ''} ${r.state}: ${r.eventsDone}/${r.eventsTotal} events, ${r.chunksDone}/${r.chunksTotal} chunks, ` +
        `${r.membersTouched} members, ${r.rowsWritten} rows written, ETA ${r.etaSeconds === null ? '–' : `${Math.ceil(r.etaSeconds)} s`}`,
    );
    if (r.state === 'throttled' && r.throttle) out.push(`  throttled for live reads: ${r.throttle.reasons.join('; ')}`);
  }
  for (const p of s.previews)
    out.push(
      `Preview ${p.runKey} (${p.stream}, ${p.startedAt}): ${p.diff ? `${p.diff.rowsChanged} rows, ${p.diff.membersChanged} members would change` : ''} — ` +
        `rerate promote ${p.runKey} | rerate discard ${p.runKey}`,
    );
  const rc = s.reconciler;
  out.push(
    rc.mark === null
      ? 'Refresh reconciler: not started (its first run sets the mark at the latest completed challenge)'
      : `Refresh reconciler: ${rc.behind} completed challenge(s) behind${rc.oldestBehind ? `, oldest ended ${rc.oldestBehind}` : ''} (mark ${rc.mark})`,
  );
  out.push(`Parity gate: ${s.parityGate.passed ? 'holds' : 'does not hold'} (${s.parityGate.reason})`);
  out.push('Latest evidence (a parity run taken before the data last changed no longer counts towards the gate):');
  if (s.evidence.length === 0) out.push('  (none yet)');
  for (const e of s.evidence) {
    out.push(`  ${e.kind.padEnd(12)} #${e.id} ${e.passed ? 'passed' : 'FAILED'}  ${e.createdAt}  ${e.workflowId}`);
    if (e.error) out.push(`               stopped: ${e.error}`);
  }
  out.push('Recent workflows:');
  if (s.workflows.length === 0) out.push('  (none)');
  for (const w of s.workflows)
    out.push(`  ${w.status.padEnd(10)} ${w.type.padEnd(12)} ${(w.state ?? '').padEnd(8)} ${w.startTime}  ${w.workflowId}`);
  return out.join('\n');
}
