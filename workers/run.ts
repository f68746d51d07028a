import { DefaultLogger, Runtime, type WorkflowBundle } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import type { Stack } from '../lib/stack';
import { createWorker } from './worker';

let runtimeInstalled = false;
/** Quiet the SDK's own logging to warnings; our CLI prints what the operator needs. */
function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger((process.env.TEMPORAL_SDK_LOG_LEVEL as 'WARN') ?? 'ERROR') });
  } catch {
    // already installed by the host process (tests)
  }
}

export interface RunningWorker {
  taskQueue: string;
  stop(): Promise<void>;
}

/** Runs a worker in this process until stop(); resolves once it is polling. */
export async function runWorker(stack: Stack, opts: { taskQueue?: string; workflowBundle?: WorkflowBundle } = {}): Promise<RunningWorker> {
  if (!stack.temporal) throw new Error('runWorker needs a stack brought up with Temporal');
  installRuntime();
  const taskQueue = opts.taskQueue ?? stack.config.temporal.taskQueue;
  const { worker, connection } = await createWorker({
    config: stack.config,
    dbs: stack.dbs,
    address: stack.temporal.address,
    taskQueue,
    workflowBundle: opts.workflowBundle,
  });
  const running = worker.run();
  return {
    taskQueue,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

/** Whether some worker polls the task queue now (e.g. `npm run stack` in another terminal). */
export async function hasWorker(client: Client, namespace: string, taskQueue: string): Promise<boolean> {
  const r = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return (r.pollers ?? []).length > 0;
}
