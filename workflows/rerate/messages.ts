import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { RerateProgress, Stream } from '../../domain/rerate';
import { workflowRef } from '../support/define';
import type { rerateChallenge, rerateMember } from './member';
import type { rerateDiscard, reratePromote } from './preview';
import type { rerate } from './workflow';

/** Phase D's messages: what clients use to start, steer and watch a stream rerate. */

export const Rerate = workflowRef<typeof rerate>('rerate');
export const RerateMember = workflowRef<typeof rerateMember>('rerateMember');
export const RerateChallenge = workflowRef<typeof rerateChallenge>('rerateChallenge');
export const ReratePromote = workflowRef<typeof reratePromote>('reratePromote');
export const RerateDiscard = workflowRef<typeof rerateDiscard>('rerateDiscard');

export const rerateProgress = defineQuery<RerateProgress>('progress');
export const reratePause = defineSignal('pause');
export const rerateResume = defineSignal('resume');
export const rerateConcurrency = defineUpdate<number, [number]>('setConcurrency');

/** One stream rerate at a time per stream: two would write the same rows. */
/**
 * A stream's rerate: one per deployment (task queue) and stream — `cutover/rerate/develop` on the default queue.
 * Per queue, like the stream's sequencer that runs it, so two deployments (or test runs) on one namespace never meet.
 */
export const rerateWorkflowId = (stream: Stream, taskQueue: string) => `${taskQueue}/rerate/${stream}`;
/** A member's rerate under a challenge's: one per member and challenge (the same pair twice at once would be the same work). */
export const memberRerateWorkflowId = (stream: Stream, userId: number, challengeId: string) =>
  `rerate/member/${stream}/${userId}/from/${challengeId}`;
/** One promote or discard per preview at a time (a second start while it runs is refused; afterwards it answers from record). */
export const previewActionWorkflowId = (action: 'promote' | 'discard', runKey: string) => `cutover/rerate/${action}/${runKey}`;
