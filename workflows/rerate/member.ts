import { executeChild, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { CallerRef } from '../../domain/refresh';
import type { MemberRerateResult, Stream } from '../../domain/rerate';
import { CutoverPhase, CutoverState } from '../../domain/search-attributes';
import { markFailure } from '../support/failure';
import { evidenceActivity, memberActivity } from '../support/policies';
import { memberRerateWorkflowId } from './messages';

const acts = proxyActivities<Activities>(memberActivity);
const evidence = proxyActivities<Activities>(evidenceActivity);

export interface RerateMemberInput {
  stream: Stream;
  userId: number;
  /** the first challenge rerated (id or legacy id); the member's first event of the stream when omitted */
  from?: string;
  /** who asked (the API's caller), stored with the evidence */
  caller?: CallerRef;
}

/**
 * One member of one stream from a challenge forward (the runbook's D1–D3), on record: the go/no-go gates ask for
 * a Development and a Marathon Match member rerated.
 */
export async function rerateMember(input: RerateMemberInput): Promise<MemberRerateResult> {
  return markFailure(async () => {
    upsertSearchAttributes([
      { key: CutoverPhase, value: 'rerate' },
      { key: CutoverState, value: 'running' },
    ]);
    const r = await acts.rerateMemberRun(input);
    const { workflowId, runId } = workflowInfo();
    await evidence.storeEvidence({ kind: 'rerate-member', workflowId, runId, passed: r.rows > 0, input, result: r });
    upsertSearchAttributes([{ key: CutoverState, value: 'done' }]);
    return r;
  });
}

export interface RerateChallengeResult {
  challengeId: string;
  name: string;
  members: MemberRerateResult[];
  /** participants missing from member: rated against, nothing of theirs to rerate */
  missing: number[];
}

/**
 * Every submitter of one challenge, from that challenge forward: one member child at a time, in id order (each
 * seeds its opponents from the stored rows the one before it wrote, so the order is part of the result).
 */
export async function rerateChallenge(input: { stream: Stream; challengeId: string }): Promise<RerateChallengeResult> {
  return markFailure(async () => {
    upsertSearchAttributes([
      { key: CutoverPhase, value: 'rerate' },
      { key: CutoverState, value: 'running' },
    ]);
    const event = await acts.rerateChallengeMembers(input);
    const members: MemberRerateResult[] = [];
    for (const userId of event.userIds) {
      members.push(
        await executeChild(rerateMember, {
          workflowId: memberRerateWorkflowId(input.stream, userId, event.challengeId),
          args: [{ stream: input.stream, userId, from: event.challengeId }],
        }),
      );
    }
    upsertSearchAttributes([{ key: CutoverState, value: 'done' }]);
    return { challengeId: event.challengeId, name: event.name, members, missing: event.missing };
  });
}
