import { ActivityMetrics } from './metrics';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { Config } from '../domain/config';
import type { Databases } from '../store/db';

export const WORKFLOWS_PATH = join(__dirname, '..', 'workflows', 'index.ts');

export interface WorkerOptions {
  config: Config;
  dbs: Databases;
  address: string;
  taskQueue?: string;
  /** shows in the Web UI's pollers; CLI-embedded workers are told apart from long-lived ones by it */
  identity?: string;
  /** a pre-built bundle (tests build one per file); otherwise the worker bundles WORKFLOWS_PATH itself */
  workflowBundle?: WorkflowBundle;
}

/** A worker on the cutover task queue: our workflows plus activities bound to the given databases. */
export async function createWorker(
  opts: WorkerOptions,
): Promise<{ worker: Worker; connection: NativeConnection; closeClient: () => Promise<void> }> {
  const connection = await NativeConnection.connect({ address: opts.address });
  // a client for activities that start or signal workflows (the sequencer's signal-with-start), made on first use
  let client: Promise<{ client: Client; connection: Connection }> | undefined;
  const temporal = async () => {
    client ??= Connection.connect({ address: opts.address }).then((c) => ({
      connection: c,
      client: new Client({ connection: c, namespace: opts.config.temporal.namespace }),
    }));
    return (await client).client;
  };
  const closeClient = async () => {
    if (client) await (await client.catch(() => undefined))?.connection.close();
  };
  const worker = await Worker.create({
    connection,
    namespace: opts.config.temporal.namespace,
    taskQueue: opts.taskQueue ?? opts.config.temporal.taskQueue,
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities({ config: opts.config, dbs: opts.dbs, temporal }),
    interceptors: { activity: [() => ({ inbound: new ActivityMetrics() })] },
    // on shutdown, in-flight batches are cancelled; one stuck in the database must not keep the process up (its
    // transaction rolls back when the connection closes, and Temporal retries the batch elsewhere)
    shutdownForceTime: '20 seconds',
  });
  return { worker, connection, closeClient };
}
