import { proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { PromoteOutcome } from '../../domain/rerate-preview';
import { CutoverPhase, CutoverState } from '../../domain/search-attributes';
import { markFailure } from '../support/failure';
import { batchActivity, evidenceActivity } from '../support/policies';

const acts = proxyActivities<Activities>(batchActivity(30));
const evidence = proxyActivities<Activities>(evidenceActivity);

const running = () =>
  upsertSearchAttributes([
    { key: CutoverPhase, value: 'rerate' },
    { key: CutoverState, value: 'running' },
  ]);

/**
 * `rerate promote <run>`: a preview's exact result applied in one transaction, refused if its source moved. On
 * record as a rerate of its stream (the go/no-go gates count it like a direct one).
 */
export async function reratePromote(input: { runKey: string }): Promise<PromoteOutcome> {
  return markFailure(async () => {
    running();
    const outcome = await acts.reratePromote(input);
    const { workflowId, runId } = workflowInfo();
    await evidence.storeEvidence({
      kind: 'rerate',
      workflowId,
      runId,
      passed: outcome.membersTouched > 0,
      input,
      result: { ...outcome, promotedFrom: input.runKey },
    });
    upsertSearchAttributes([{ key: CutoverState, value: 'done' }]);
    return outcome;
  });
}

/** `rerate discard <run>`: a preview's shadow rows dropped; the unified tables untouched. */
export async function rerateDiscard(input: { runKey: string }): Promise<{ runKey: string; discarded: boolean }> {
  return markFailure(async () => {
    running();
    const r = await acts.rerateDiscard(input);
    const { workflowId, runId } = workflowInfo();
    await evidence.storeEvidence({ kind: 'rerate-discard', workflowId, runId, passed: true, input, result: r });
    upsertSearchAttributes([{ key: CutoverState, value: 'done' }]);
    return r;
  });
}
