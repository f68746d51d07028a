import { defineQuery } from '@temporalio/workflow';
import type { CheckResult } from '../../domain/preflight';
import { workflowRef } from '../support/define';
import type { preflight } from './workflow';

/** Preflight's messages: the workflow reference, its status query, its workflow ids. */

export const Preflight = workflowRef<typeof preflight>('preflight');

export interface PreflightStatus {
  state: 'running' | 'passed' | 'failed';
  checks: CheckResult[];
}
export const preflightStatus = defineQuery<PreflightStatus>('status');

export function preflightWorkflowId(now = new Date()): string {
  return `cutover/preflight/${now.toISOString().replace(/[:.]/g, '-')}`;
}
