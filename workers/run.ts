import { Runtime, type WorkflowBundle } from '@temporalio/worker';
import { workerLogger } from '../lib/worker-log';
import { hostname } from 'node:os';
import type { Config } from '../domain/config';
import type { Stack } from '../lib/stack';
import { CLI_IDENTITY_PREFIX } from '../lib/temporal';
export { hasWorker } from '../lib/temporal';
import { createWorker } from './worker';

let runtimeInstalled = false;
/**
 * The SDK's own logging as structured lines on stderr, errors only unless TEMPORAL_SDK_LOG_LEVEL says otherwise (our
 * CLI prints what the operator needs); with `metricsAddress`
 * (host:port) the runtime also serves its worker metrics in Prometheus format there (the API's /metrics relays
 * them). Once per process: the first worker decides.
 */
function installRuntime(level: Config['temporal']['sdkLogLevel'], metricsAddress?: string): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({
      logger: workerLogger(level),
      telemetryOptions: {
        // the core's own lines are forwarded to that logger (stderr): by default they go to stdout, where they would
        // break a command's --json output
        logging: { forward: {}, filter: { core: level, other: level } },
        ...(metricsAddress
          ? { metrics: { prometheus: { bindAddress: metricsAddress, countersTotalSuffix: true, useSecondsForDurations: true } } }
          : {}),
      },
    });
  } catch {
    // already installed by the host process (tests)
  }
}

export interface RunningWorker {
  taskQueue: string;
  stop(): Promise<void>;
}

/** Runs a worker in this process until stop(); resolves once it is polling. */

export async function runWorker(
  stack: Stack,
  opts: {
    taskQueue?: string;
    workflowBundle?: WorkflowBundle;
    role?: 'cli' | 'worker';
    /** host:port for the SDK's Prometheus exporter (lib/ports freePort); only the process's first worker sets it */
    metricsAddress?: string;
  } = {},
): Promise<RunningWorker> {
  if (!stack.temporal) throw new Error('runWorker needs a stack brought up with Temporal');
  installRuntime(stack.config.temporal.sdkLogLevel, opts.metricsAddress);
  const taskQueue = opts.taskQueue ?? stack.config.temporal.taskQueue;
  const { worker, connection, closeClient } = await createWorker({
    config: stack.config,
    dbs: stack.dbs,
    address: stack.temporal.address,
    taskQueue,
    workflowBundle: opts.workflowBundle,
    identity: `${opts.role === 'cli' ? CLI_IDENTITY_PREFIX : 'cutover-worker-'}${process.pid}@${hostname()}`,
  });
  const running = worker.run();
  return {
    taskQueue,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      // past its force time the worker gives up on activities stuck in the database: they are retried elsewhere
      await running.catch((e: Error) =>
        process.stderr.write(`[cutover] worker stopped without waiting for its activities: ${e.message}\n`),
      );
      await closeClient();
      await connection.close();
    },
  };
}
