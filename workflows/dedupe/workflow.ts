import { ApplicationFailure, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { DedupeOptions, DedupeRunId, type DedupeInput, type DedupeReport, type DedupeUndoResult } from '../../domain/dedupe';
import { Failure } from '../../domain/failures';
import { CutoverPhase, CutoverState } from '../../domain/search-attributes';
import { markFailure, rootMessage } from '../support/failure';
import { batchActivity, evidenceActivity } from '../support/policies';
import { dedupeStatus, type DedupeStatus } from './messages';

type Outcome = { mode: 'dry-run' | 'apply'; report: DedupeReport } | { mode: 'undo'; undo: DedupeUndoResult };
export type DedupeResult = Outcome & { workflowId: string; runId: string; evidenceId: number };

/**
 * Phase D5. A dry run reports the numeric Marathon Match rows that duplicate a canonical row (writing nothing);
 * an apply removes them in one transaction, kept under this workflow's run id; `{undo: runId}` restores a run.
 * Each run, failed ones too, is stored as evidence for the operator's approval.
 */
export async function dedupe(input: DedupeInput): Promise<DedupeResult> {
  return markFailure(() => runDedupe(input));
}

function invalid(messages: string[]): never {
  throw ApplicationFailure.nonRetryable(messages.join('\n'), Failure.InvalidInput);
}

async function runDedupe(input: DedupeInput): Promise<DedupeResult> {
  const status: DedupeStatus = { state: 'starting' };
  setHandler(dedupeStatus, () => status);
  upsertSearchAttributes([
    { key: CutoverPhase, value: 'dedupe' },
    { key: CutoverState, value: 'running' },
  ]);
  const { workflowId, runId, startTime } = workflowInfo();
  const acts = proxyActivities<Activities>(batchActivity(30));
  const evidence = proxyActivities<Activities>(evidenceActivity);

  let work: () => Promise<Outcome>;
  let recorded: unknown;
  if ('undo' in input) {
    const undo = DedupeRunId.safeParse(input.undo);
    if (!undo.success) invalid(undo.error.issues.map((i) => i.message));
    recorded = { mode: 'undo', undo: undo.data };
    status.state = 'undoing';
    work = async () => ({ mode: 'undo', undo: await acts.dedupeUndo({ runId: undo.data }) });
  } else {
    const parsed = DedupeOptions.safeParse(input.options);
    if (!parsed.success) invalid(parsed.error.issues.map((i) => i.message));
    const options = parsed.data;
    recorded = { mode: options.apply ? 'apply' : 'dry-run', options };
    status.state = options.apply ? 'applying' : 'finding';
    work = async () =>
      options.apply
        ? { mode: 'apply', report: await acts.dedupeApply({ runId, options, startedAt: startTime.toISOString() }) }
        : { mode: 'dry-run', report: await acts.dedupeFind({ runId, options }) };
  }

  let outcome: Outcome;
  try {
    outcome = await work();
  } catch (e) {
    status.state = 'failed';
    await evidence.storeEvidence({ kind: 'dedupe', workflowId, runId, passed: false, input: recorded, result: { error: rootMessage(e) } });
    throw e;
  }
  status.state = 'storing';
  const evidenceId = await evidence.storeEvidence({ kind: 'dedupe', workflowId, runId, passed: true, input: recorded, result: outcome });
  status.state = 'done';
  upsertSearchAttributes([{ key: CutoverState, value: 'done' }]);
  return { ...outcome, workflowId, runId, evidenceId };
}
