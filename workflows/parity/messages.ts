import { defineQuery } from '@temporalio/workflow';
import type { ParityCategory } from '../../domain/parity';
import { workflowRef } from '../support/define';
import type { parity } from './workflow';

/** Phase B's messages: the workflow reference, its status query, its workflow ids. */

export const Parity = workflowRef<typeof parity>('parity');

export interface ParityStatus {
  state: 'preparing' | 'checking' | 'storing' | 'passed' | 'failed';
  counts: Partial<Record<ParityCategory, number>>;
}
export const parityStatus = defineQuery<ParityStatus>('status');

export function parityWorkflowId(now = new Date()): string {
  return `cutover/parity/${now.toISOString().replace(/[:.]/g, '-')}`;
}
