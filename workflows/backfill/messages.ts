import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BackfillProgress } from '../../domain/backfill';
import { workflowRef } from '../support/define';
import type { backfillMember } from './member';
import type { backfill } from './workflow';

/** Phase A's messages: what clients (CLI, tests, the cutover workflow) use to start, steer and watch a backfill. */

export const Backfill = workflowRef<typeof backfill>('backfill');
export const BackfillMember = workflowRef<typeof backfillMember>('backfillMember');

export const backfillProgress = defineQuery<BackfillProgress>('progress');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const setConcurrency = defineUpdate<number, [number]>('setConcurrency');

export const BACKFILL_WORKFLOW_ID = 'cutover/backfill';
export const memberBackfillWorkflowId = (userId: number) => `backfill/member/${userId}`;
