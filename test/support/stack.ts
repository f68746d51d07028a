import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { inject } from 'vitest';
import { bringUp, type Stack } from '../../lib/stack';
import { WORKFLOWS_PATH } from '../../workers/worker';
import { testConfig } from './db';

let bundle: Promise<WorkflowBundle> | undefined;
/** Bundled once per test file (webpack is slow); workers in that file share it. */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} } });
  return bundle;
}

/** The real stack against a test database and the suite's Temporal server. */
export function testStack(databaseUrl: string, extraEnv: Record<string, string> = {}): Promise<Stack> {
  return bringUp({
    config: testConfig(databaseUrl, { TEMPORAL_ADDRESS: inject('temporalAddress'), ...extraEnv }),
    log: () => {},
  });
}

let queueSeq = 0;
export function uniqueTaskQueue(label: string): string {
  return `test-${label}-${process.pid}-${Date.now()}-${queueSeq++}`;
}
