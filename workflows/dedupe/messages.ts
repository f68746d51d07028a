import { defineQuery } from '@temporalio/workflow';
import { workflowRef } from '../support/define';
import type { dedupe } from './workflow';

/** Phase D5's messages: the workflow reference, its status query, its workflow id. */

export const Dedupe = workflowRef<typeof dedupe>('dedupe');

export interface DedupeStatus {
  state: 'starting' | 'finding' | 'applying' | 'undoing' | 'storing' | 'done' | 'failed';
}
export const dedupeStatus = defineQuery<DedupeStatus>('status');

/** One dedupe at a time from the CLI: a dry run, an apply and an undo all read what the one before left. */
export const DEDUPE_WORKFLOW_ID = 'cutover/dedupe';
