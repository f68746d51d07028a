import { defineQuery } from '@temporalio/workflow';
import type { SwitchGate } from '../../domain/switch';
import { workflowRef } from '../support/define';
import type { switchReads } from './workflow';

/** Phase C's messages: the workflow reference, its status query, its workflow id. */

export const SwitchReads = workflowRef<typeof switchReads>('switchReads');

export interface SwitchStatus {
  state: 'starting' | 'gate' | 'capturing' | 'switching' | 'verifying' | 'rolling-back' | 'storing' | 'done' | 'refused' | 'failed';
  /** the parity gate, once checked */
  gate?: SwitchGate;
  /** switched although the gate did not hold */
  forced: boolean;
  /** the members whose reads are verified, once picked */
  userIds: number[];
  /** what failed, when something did */
  problems: string[];
}
export const switchStatus = defineQuery<SwitchStatus>('status');

/** One switch at a time from the CLI: a second would flip and verify beside the first. */
export const switchWorkflowId = 'cutover/switch';
