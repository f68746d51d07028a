import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ApproveInput, CutoverStatus, GateView, OperatorMessage, RollbackInput } from '../../domain/cutover';
import { workflowRef } from '../support/define';
import type { cutover } from './workflow';

/** The cutover's messages: what the CLI (and tests) use to start, steer and watch a whole cutover. */

export const Cutover = workflowRef<typeof cutover>('cutover');

export const cutoverStatus = defineQuery<CutoverStatus>('status');
/** passed on to the running phase where it can pause (backfill, rerate); otherwise the next step waits */
export const cutoverPause = defineSignal<[OperatorMessage]>('pause');
export const cutoverResume = defineSignal<[OperatorMessage]>('resume');
/** at any phase: stop the running step, reads to legacy at once, wait for retry or abort */
export const cutoverRollback = defineSignal<[RollbackInput]>('rollback');
/** re-run the blocked (or rolled-back) step */
export const cutoverRetry = defineSignal<[OperatorMessage]>('retry');
export const cutoverAbort = defineSignal<[OperatorMessage]>('abort');
/** refused by its validator when the gate's evidence does not hold, unless forced (on record) */
export const cutoverApprove = defineUpdate<GateView, [ApproveInput]>('approve');
/** for the steps still to come; the CLI retunes the running phase itself */
export const cutoverConcurrency = defineUpdate<number, [{ concurrency: number; actor: string }]>('setConcurrency');
