import { executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Stream } from '../../../domain/rerate';
import type { NaiveActivities, NaiveEventResult } from './naive-activities';

/**
 * The rerate bench's naive shape (its own worker bundles this file alone): one child workflow per challenge, in
 * replay order, one after the other; each child runs one activity that seeds the challenge's participants from
 * their stored history, rates the challenge and writes its rows.
 */

const acts = proxyActivities<NaiveActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', maximumAttempts: 3 },
});

export interface NaiveRerateInput {
  stream: Stream;
  /** the challenges, in replay order */
  challengeIds: string[];
}

export async function naiveRerate(input: NaiveRerateInput): Promise<{ events: number; rows: number; written: number }> {
  const parent = workflowInfo().workflowId;
  let rows = 0;
  let written = 0;
  for (const [i, challengeId] of input.challengeIds.entries()) {
    const r = await executeChild(naiveRerateChallenge, {
      workflowId: `${parent}/${i}`,
      args: [{ stream: input.stream, challengeId }],
    });
    rows += r.rows;
    written += r.written;
  }
  return { events: input.challengeIds.length, rows, written };
}

export async function naiveRerateChallenge(input: { stream: Stream; challengeId: string }): Promise<NaiveEventResult> {
  return acts.naiveRerateEvent(input);
}
