import { defineQuery, defineSignal } from '@temporalio/workflow';
import { SEQUENCER, type RatingDone, type RatingRequest } from '../../domain/refresh';
import { workflowRef } from '../support/define';
import type { refreshChallenge, refreshMember } from './challenge';
import type { ratingSequencer } from './sequencer';

/** Phase E's messages: what the API, the reconciler and tests use to start, join and watch a refresh. */

export const RefreshChallenge = workflowRef<typeof refreshChallenge>('refreshChallenge');
export const RefreshMember = workflowRef<typeof refreshMember>('refreshMember');
export const RatingSequencer = workflowRef<typeof ratingSequencer>(SEQUENCER.workflowType);

export const ratingRequested = defineSignal<[RatingRequest]>(SEQUENCER.requested);
export const ratingDone = defineSignal<[RatingDone]>(SEQUENCER.done);

export interface SequencerProgress {
  stream: string;
  pending: number;
  rated: number;
  rerates: number;
  lastError?: string;
}
export const sequencerProgress = defineQuery<SequencerProgress>('progress');

/** One refresh per challenge: a duplicate trigger joins the running one (workflowIdConflictPolicy USE_EXISTING). */
export const refreshChallengeWorkflowId = (challengeId: string) => `refresh/challenge/${challengeId}`;
export const refreshMemberWorkflowId = (handle: string) => `refresh/member/${handle.toLowerCase()}`;
