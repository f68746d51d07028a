import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { BackfillOptions, batchPlanOf, type BackfillOptionsInput, type BatchPlan, type BatchResult } from '../../domain/backfill';
import { CutoverPhase, CutoverState } from '../../domain/search-attributes';
import { markFailure } from '../support/failure';
import { memberActivity } from '../support/policies';

const acts = proxyActivities<Activities>(memberActivity);

export interface MemberBackfillInput {
  userId: number;
  options: BackfillOptionsInput;
  /** resolved by the parent's prepare; a standalone spot fix omits it and resolves its own */
  plan?: BatchPlan;
  /** a standalone spot fix re-ranks its partitions; under a parent, the parent does it once at the end */
  refreshRanks: boolean;
}

/** One member's backfill: spot fixes and rollback repair, or one item of a --user-id run. */
export async function backfillMember(input: MemberBackfillInput): Promise<BatchResult> {
  return markFailure(() => runMemberBackfill(input));
}

async function runMemberBackfill(input: MemberBackfillInput): Promise<BatchResult> {
  const options = BackfillOptions.parse({ ...input.options, userIds: [input.userId] });
  upsertSearchAttributes([
    { key: CutoverPhase, value: 'backfill' },
    { key: CutoverState, value: 'running' },
  ]);
  const plan = input.plan ?? (await acts.backfillPrepare(options));
  const batchPlan: BatchPlan = batchPlanOf(plan);
  const result = await acts.backfillBatch({ scope: { userIds: [input.userId] }, options, plan: batchPlan });
  if (input.refreshRanks) await acts.backfillFinalize({ options, plan: batchPlan });
  upsertSearchAttributes([{ key: CutoverState, value: 'done' }]);
  return result;
}
