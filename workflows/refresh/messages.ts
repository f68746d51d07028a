import { defineQuery, defineSignal } from '@temporalio/workflow';
import {
  RECONCILE,
  SEQUENCER,
  type RatingDone,
  type RatingRequest,
  type StreamRerateDone,
  type StreamRerateRequest,
} from '../../domain/refresh';
import { workflowRef } from '../support/define';
import type { refreshChallenge, refreshMember } from './challenge';
import type { ratingSequencer } from './sequencer';
import type { refreshReconcile } from './reconcile';

/** Phase E's messages: what the API, the reconciler and tests use to start, join and watch a refresh. */

export const RefreshChallenge = workflowRef<typeof refreshChallenge>('refreshChallenge');
export const RefreshMember = workflowRef<typeof refreshMember>('refreshMember');
export const RatingSequencer = workflowRef<typeof ratingSequencer>(SEQUENCER.workflowType);
export const RefreshReconcile = workflowRef<typeof refreshReconcile>(RECONCILE.workflowType);

export const ratingRequested = defineSignal<[RatingRequest]>(SEQUENCER.requested);
export const ratingDone = defineSignal<[RatingDone]>(SEQUENCER.done);
/** an operator's (the cutover's) stream rerate, run by the sequencer between its ratings, and its answer */
export const rerateRequested = defineSignal<[StreamRerateRequest]>(SEQUENCER.rerateRequested);
export const rerateDone = defineSignal<[StreamRerateDone]>(SEQUENCER.rerateDone);
/** the requester no longer wants it (a cutover rolled back or aborted mid-rerate): dropped if queued, cancelled if running */
export const rerateWithdrawn = defineSignal<[{ requestId: string }]>(SEQUENCER.rerateWithdrawn);

export interface SequencerProgress {
  stream: string;
  pending: number;
  rated: number;
  rerates: number;
  /** operators' (the cutover's) stream rerates waiting, and whether one runs */
  reratesQueued?: number;
  rerateRunning?: boolean;
  lastError?: string;
}
export const sequencerProgress = defineQuery<SequencerProgress>('progress');

export { refreshChallengeWorkflowId } from '../../domain/refresh';
export const refreshMemberWorkflowId = (handle: string) => `refresh/member/${handle.toLowerCase()}`;
