import { condition, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { ChallengeRefreshResult, MemberRefreshResult, RatingDone, RefreshChallengeInput } from '../../domain/refresh';
import { CutoverPhase, CutoverState } from '../../domain/search-attributes';
import { markFailure } from '../support/failure';
import { evidenceActivity, memberActivity } from '../support/policies';
import { ratingDone } from './messages';

const acts = proxyActivities<Activities>(memberActivity);
const evidence = proxyActivities<Activities>(evidenceActivity);

const running = () =>
  upsertSearchAttributes([
    { key: CutoverPhase, value: 'refresh' },
    { key: CutoverState, value: 'running' },
  ]);

/**
 * Phase E, one challenge end (what autopilot calls): every participant refreshed from the sources in one
 * transaction → a rated challenge handed to its stream's sequencer, which rates in challenge order and answers →
 * evidence with the caller's client id. Started or joined by id, so a duplicate trigger has one effect.
 */
export async function refreshChallenge(input: RefreshChallengeInput): Promise<ChallengeRefreshResult> {
  return markFailure(async () => {
    running();
    let rated: RatingDone | undefined;
    const r = await acts.refreshChallengeMembers(input);
    setHandler(ratingDone, (d) => {
      if (d.challengeId === r.challengeId) rated = d;
    });
    const { workflowId, runId } = workflowInfo();
    if (r.stream) {
      await acts.requestRating({
        stream: r.stream,
        request: { challengeId: r.challengeId, endAt: Date.parse(r.endDate), replyTo: workflowId },
      });
      await condition(() => rated !== undefined);
    }
    const result: ChallengeRefreshResult = {
      ...r,
      rated: rated ? { rows: rated.rows, ...(rated.rerateFrom ? { rerateFrom: rated.rerateFrom } : {}) } : null,
    };
    await evidence.storeEvidence({
      kind: 'refresh',
      workflowId,
      runId,
      passed: true,
      input: { challengeId: input.challengeId, clientId: input.caller.clientId, via: input.caller.via },
      result,
    });
    upsertSearchAttributes([{ key: CutoverState, value: 'done' }]);
    return result;
  });
}

/** One member refreshed (member-api-v6's POST /members/:handle/stats/refresh). */
export async function refreshMember(input: { handle: string; challengeId?: string }): Promise<MemberRefreshResult> {
  return markFailure(async () => {
    running();
    const r = await acts.refreshMemberRun(input);
    upsertSearchAttributes([{ key: CutoverState, value: 'done' }]);
    return r;
  });
}
