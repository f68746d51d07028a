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

/** A backfill started on its own: one id per run (its UTC start), so the Web UI, status and evidence tell runs apart. */
export const LONE_BACKFILL_PREFIX = 'cutover/backfill/';
export const backfillWorkflowId = (at: Date) => `${LONE_BACKFILL_PREFIX}${at.toISOString().replace(/[:.]/g, '-')}`;
export const memberBackfillWorkflowId = (userId: number) => `backfill/member/${userId}`;
