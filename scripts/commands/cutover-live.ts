import type { CutoverPlanInput, CutoverStatus } from '../../domain/cutover';
import { freePort } from '../../lib/ports';
import type { Log, Stack } from '../../lib/stack';
import { runWorker } from '../../workers/run';
import { cutoverAbort } from '../../workflows/cutover/messages';
import { runAutopilot, type RunSummary } from '../autopilot/run';
import { autopilotToken } from '../autopilot/token';
import { followCutover, startCutover } from './cutover-run';
import { startApiForStack } from './serve';

export interface LiveCutover {
  status: CutoverStatus;
  autopilot: RunSummary;
  apiUrl: string;
}

/**
 * A whole cutover under live traffic, as `npm start` runs it: the member stats API (with the local token issuer)
 * and a worker that verifies reads through it, the autopilot ending challenges and calling the API all along,
 * the cutover workflow from preflight to flag removal. Everything started here is stopped before it returns.
 */
export async function runLiveCutover(
  stack: Stack,
  opts: {
    plan: CutoverPlanInput;
    autopilotRate: number;
    seed?: number;
    taskQueue?: string;
    log: Log;
    /** called once the cutover ended, while the API still serves (a test scrapes /metrics there) */
    beforeStop?: (apiUrl: string) => Promise<void>;
  },
): Promise<LiveCutover> {
  // its request log would bury the cutover's own lines: warnings only, unless LOG_LEVEL asks for more
  // and its write routes start refresh workflows on the task queue this run's worker polls
  const taskQueue = opts.taskQueue ?? stack.config.temporal.taskQueue;
  const quiet = {
    ...stack,
    config: {
      ...stack.config,
      temporal: { ...stack.config.temporal, taskQueue },
      logLevel: process.env.LOG_LEVEL ? stack.config.logLevel : ('warn' as const),
    },
  };
  // the SDK's worker metrics, relayed at the API's /metrics (when this process's first worker is this one)
  const metricsAddress = `127.0.0.1:${await freePort()}`;
  const api = await startApiForStack(quiet, {
    port: await freePort(),
    host: '127.0.0.1',
    log: opts.log,
    workerMetricsUrl: `http://${metricsAddress}/metrics`,
  });
  // the switch verifies reads through this API, and the cutover's refresh step waits for autopilot's calls to it
  const worker = await runWorker({ ...stack, config: { ...stack.config, apiUrl: api.url } }, { taskQueue, metricsAddress }).catch(
    async (e) => {
      await api.close();
      throw e;
    },
  );
  const stopTraffic = new AbortController();
  let autopilot: Promise<RunSummary> | undefined;
  try {
    const { token } = await autopilotToken(stack.config, {}, 3600);
    autopilot = runAutopilot(stack.dbs, {
      rate: opts.autopilotRate,
      durationSeconds: 3600,
      seed: opts.seed ?? 1,
      apiUrl: api.url,
      token,
      // triggers arrive twice and out of order; none is lost (a lost one waits for the reconciler, minutes away)
      drop: 0,
      duplicate: 0.1,
      reorder: 0.1,
      signal: stopTraffic.signal,
    });
    opts.log(`autopilot: ending challenges at ${opts.autopilotRate}/s through ${api.url}`);
    opts.log(`dashboard: ${api.url}/dashboard (metrics: ${api.url}/metrics)`);
    const handle = await startCutover(stack.client!, worker.taskQueue, opts.plan, 'npm start');
    opts.log(`cutover ${opts.plan.name} started (${handle.workflowId})`);
    const status = await followCutover(handle, { log: opts.log });
    stopTraffic.abort();
    if (status.state === 'blocked' || status.state === 'rolled-back') {
      // nobody is left to steer it once this returns: end it (reads back to legacy) while the worker is up
      await handle.signal(cutoverAbort, {
        actor: 'npm start',
        reason: `unattended run stopped ${status.state}: ${status.blockedReason ?? ''}`,
      });
      await handle.result().catch(() => undefined);
    }
    await opts.beforeStop?.(api.url);
    return { status, autopilot: await autopilot, apiUrl: api.url };
  } finally {
    stopTraffic.abort();
    await autopilot?.catch(() => undefined);
    await worker.stop();
    await api.close();
  }
}
