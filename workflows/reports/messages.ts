import { defineQuery } from '@temporalio/workflow';
import { workflowRef } from '../support/define';
import type { reports } from './workflow';

/** Phase F's messages: the workflow reference, its status query, its workflow id. */

export const Reports = workflowRef<typeof reports>('reports');

export interface ReportsStatus {
  state: 'starting' | 'running' | 'storing' | 'passed' | 'failed';
}
export const reportsStatus = defineQuery<ReportsStatus>('status');

export function reportsWorkflowId(now = new Date()): string {
  return `cutover/reports/${now.toISOString().replace(/[:.]/g, '-')}`;
}
