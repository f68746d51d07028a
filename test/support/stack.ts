import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { inject } from 'vitest';
import { bringUp, type Stack } from '../../lib/stack';
import { WORKFLOWS_PATH } from '../../workers/worker';
import { runSeed } from '../../scripts/seed/index';
import { runWorker } from '../../workers/run';
import { createTestDatabase, testConfig } from './db';

let bundle: Promise<WorkflowBundle> | undefined;
/** Bundled once per test file (webpack is slow); workers in that file share it. */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} },
  });
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

/**
 * A seeded test database with the real stack and an in-process worker on its own task queue: the setup most
 * workflow tests share. `close()` takes all of it down.
 */
export async function seededStack(label: string, seed: { size: 'tiny' | 'small'; seed: number }) {
  const db = await createTestDatabase(label);
  const stack = await testStack(db.url);
  await runSeed(stack.dbs, seed);
  const taskQueue = uniqueTaskQueue(label);
  const worker = await runWorker(stack, { taskQueue, workflowBundle: await workflowBundle() });
  return {
    db,
    stack,
    taskQueue,
    async close() {
      await worker.stop();
      await stack.close();
      await db.drop();
    },
  };
}

/** Runs fn against a second stack on the same members database with other env (e.g. a bad REVIEW_DB_URL). */
export async function withOtherStack<T>(
  databaseUrl: string,
  env: Record<string, string>,
  fn: (stack: Stack, taskQueue: string) => Promise<T>,
): Promise<T> {
  const other = await testStack(databaseUrl, env);
  const taskQueue = uniqueTaskQueue('other');
  const worker = await runWorker(other, { taskQueue, workflowBundle: await workflowBundle() });
  try {
    return await fn(other, taskQueue);
  } finally {
    await worker.stop();
    await other.close();
  }
}
