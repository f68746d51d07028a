// npm run stack: bring up (or connect to) Temporal and Postgres, migrate, run the worker, stay up until Ctrl-C.
import { freePort } from '../lib/ports';
import { bringUp, stderrLog } from '../lib/stack';
import { runWorker } from '../workers/run';
import { fail } from './cli-support';
import { ensureReconcileSchedule } from './commands/reconcile';
import { startApiForStack } from './commands/serve';

async function main() {
  const stack = await bringUp();
  // the SDK's worker metrics, relayed at the API's /metrics with ours
  const metricsAddress = `127.0.0.1:${await freePort()}`;
  const worker = await runWorker(stack, { metricsAddress });
  const api = await startApiForStack(stack, { workerMetricsUrl: `http://${metricsAddress}/metrics` }).catch(async (e) => {
    await worker.stop();
    await stack.close();
    throw e;
  });
  // phase E's safety net: the reconciler's schedule (a failure to set it up is said, and the stack stays up)
  const schedule = await ensureReconcileSchedule(stack).catch((e: Error) => `not set up: ${e.message}`);
  const { temporal, postgres, config } = stack;
  stderrLog(`Postgres: ${postgres.mode} (${new URL(config.databaseUrl).host}${new URL(config.databaseUrl).pathname})`);
  stderrLog(`Temporal: ${temporal?.mode} at ${temporal?.address}, namespace ${config.temporal.namespace}`);
  stderrLog(`Worker polling task queue "${worker.taskQueue}"`);
  stderrLog(`Refresh reconciler schedule (every ${config.refresh.reconcileEveryMinutes} min): ${schedule}`);
  process.stdout.write(`Temporal Web UI: ${temporal?.uiUrl ?? '(external cluster: use its own UI)'}\n`);
  process.stdout.write(`Member stats API: ${api.url}/members/health (OpenAPI: ${api.url}/members/openapi.json)\n`);
  process.stdout.write(`Dashboard: ${api.url}/dashboard   Metrics: ${api.url}/metrics\n`);
  stderrLog('Up. Ctrl-C to stop.');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    stderrLog(`${signal}: shutting down`);
    // whatever hangs (a stuck statement, a pool that will not drain), the operator's signal ends the process
    setTimeout(() => {
      stderrLog('shutdown is taking too long; exiting now (running batches are retried by Temporal)');
      process.exit(1);
    }, 45_000).unref();
    await api.close(); // flushes buffered legacy-read counts while the pool is open
    await worker.stop();
    await stack.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch(fail);
