import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BackfillProgress } from '../domain/backfill';

// Shared by the backfill workflow and the CLI, so both name the same handlers.
export const backfillProgress = defineQuery<BackfillProgress>('progress');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const setConcurrency = defineUpdate<number, [number]>('setConcurrency');

export const BACKFILL_WORKFLOW_ID = 'cutover/backfill';
export const memberBackfillWorkflowId = (userId: number) => `backfill/member/${userId}`;
