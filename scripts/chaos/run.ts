import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { clearUnified } from '../../store/checksum';
import { Backfill } from '../../workflows/backfill/messages';
import { Parity } from '../../workflows/parity/messages';
import type { BackfillResult } from '../../workflows/backfill/workflow';
import type { ParityResult } from '../../workflows/parity/workflow';
import { databaseName } from '../../lib/postgres';
import { harnessDb } from './database';
import type { ChaosTemporal } from './dev-server';
import { backfillWatch, killWorker, parityWatch, restartTemporal, terminatePostgresSessions, type Watch } from './faults';
import { markOf, type ChaosSettings, type FaultRecord, type Harness, type ParityRun } from './harness';
import { judge, snapshot, type Check, type RunOutcome } from './outcome';
import { backfillSchedule } from './schedule';
import { secondsSince, throughOutage, until } from './wait';
import { pollerIdentities, WorkerFleet } from './workers';

/**
 * The chaos suite: an undisturbed backfill + full parity, then the same on the same data with faults injected,
 * then every check of the second against the first. Both runs use real worker processes and the suite's own
 * Temporal dev server.
 */

export interface ChaosReport {
  settings: ChaosSettings;
  faults: FaultRecord[];
  checks: Check[];
  passed: boolean;
  /** wall time of the undisturbed and the disturbed run */
  seconds: { undisturbed: number; disturbed: number };
}

export interface ChaosTarget {
  /** the product's database (the workers' DATABASE_URL); the harness connects to it under its own name */
  databaseUrl: string;
  temporal: ChaosTemporal;
  log: (m: string) => void;
}

/** A run's whole budget: generous, so only a hang (not a slow machine) trips it. */
const RUN_TIMEOUT_MS = 30 * 60_000;

export async function runChaos(target: ChaosTarget, settings: ChaosSettings): Promise<ChaosReport> {
  const db = harnessDb(target.databaseUrl);
  const connection = await Connection.connect({ address: target.temporal.address });
  const client = new Client({ connection, namespace: target.temporal.namespace });
  try {
    target.log('undisturbed run: backfill, then full parity');
    const ref = await oneRun({ ...target, db, client }, settings, 'reference', false);
    target.log(`undisturbed run done in ${ref.seconds.toFixed(1)} s; disturbed run: the same, with faults`);
    const got = await oneRun({ ...target, db, client }, settings, 'chaos', true);
    const unexpected = [
      ...got.unexpected,
      ...(target.temporal.unexpectedExit ? [`Temporal dev server ${target.temporal.unexpectedExit}`] : []),
    ];
    const checks = judge(ref.outcome, got.outcome, got.faults, settings, unexpected);
    return {
      settings,
      faults: got.faults,
      checks,
      passed: checks.every((c) => c.pass),
      seconds: { undisturbed: ref.seconds, disturbed: got.seconds },
    };
  } finally {
    await connection.close();
    await db.destroy();
  }
}

type Ctx = ChaosTarget & { db: Kysely<any>; client: Client };

async function oneRun(ctx: Ctx, settings: ChaosSettings, label: string, disturb: boolean) {
  const { db, client, temporal, log } = ctx;
  await clearUnified(db);
  const stamp = `${label}-${Date.now()}`;
  const taskQueue = `chaos-${stamp}`;
  const env = { DATABASE_URL: ctx.databaseUrl, TEMPORAL_ADDRESS: temporal.address, TASK_QUEUE: taskQueue };
  const workers = new WorkerFleet(env, temporal.dir, log);
  try {
    await until('the first worker to poll', async () => (await pollerIdentities(client, temporal.namespace, taskQueue)).size > 0, 120_000);
    const h: Harness = {
      db,
      database: databaseName(ctx.databaseUrl),
      client,
      temporal,
      workers,
      settings,
      t0: Date.now(),
      log,
      faults: [],
    };

    const backfillId = `chaos/backfill/${stamp}`;
    const handle = await throughOutage(
      'starting the backfill',
      () =>
        client.workflow.start(Backfill, {
          taskQueue,
          workflowId: backfillId,
          args: [
            {
              options: { batchSize: settings.batchSize, concurrency: settings.concurrency },
              tuning: { heartbeatSeconds: settings.heartbeatSeconds },
            },
          ],
        }),
      60_000,
    );
    if (disturb) await backfillFaults(h, handle.firstExecutionRunId);
    const backfill = await outcomeOf<BackfillResult>('backfill', () => handle.result());

    let parity: ParityRun = { id: `chaos/parity/${stamp}`, status: 'not run (the backfill did not complete)' };
    let parityAfterKill: ParityRun | undefined;
    if (backfill.value) {
      // each parity fault gets a parity run of its own, so a slow recovery is pinned on the fault that caused it
      const pg = disturb && settings.pgTerminations > 0 ? (w: Watch) => terminatePostgresSessions(h, w) : undefined;
      parity = await parityRun(h, taskQueue, parity.id, 'parity', pg);
      if (disturb && settings.parityKill) {
        parityAfterKill = await parityRun(h, taskQueue, `chaos/parity-2/${stamp}`, 'parity, 2nd run', (w) => killWorker(h, w));
      }
    }
    const outcome: RunOutcome = await snapshot(db, {
      backfillId,
      backfillStatus: backfill.status,
      backfill: backfill.value,
      parity,
      parityAfterKill,
    });
    return { outcome, faults: h.faults, unexpected: [...workers.unexpected], seconds: secondsSince(h.t0) };
  } finally {
    await workers.stopAll();
  }
}

/** A workflow's result through server restarts; its failure is an outcome to report, not a crash of the driver. */
async function outcomeOf<T>(what: string, result: () => Promise<T>): Promise<{ status: string; value?: T }> {
  try {
    return { status: 'completed', value: await throughOutage(`the ${what} result`, result, RUN_TIMEOUT_MS) };
  } catch (e) {
    const cause = e instanceof WorkflowFailedError && e.cause ? `: ${e.cause.message}` : '';
    return { status: `failed: ${(e as Error).message}${cause}` };
  }
}

async function backfillFaults(h: Harness, runKey: string): Promise<void> {
  const watch = backfillWatch(h, runKey);
  for (const planned of backfillSchedule(h.settings)) {
    // wait for this fault's point in the run; a run that stops moving or ends first leaves the rest uninjected
    let last = -1;
    let lastMoved = Date.now();
    for (;;) {
      const m = await markOf(h, runKey);
      if (m && m.status === 'done')
        return h.log(`the backfill finished before the ${planned.kind} planned at ${Math.round(planned.at * 100)} %`);
      if (m && m.committed >= Math.ceil(planned.at * m.total)) break;
      const committed = m?.committed ?? 0;
      if (committed !== last) [last, lastMoved] = [committed, Date.now()];
      if (Date.now() - lastMoved > h.settings.recoverySeconds * 1000) return h.log('the backfill stopped moving; no more faults');
      await sleep(50);
    }
    if (planned.kind === 'worker SIGKILL') await killWorker(h, watch);
    else if (planned.kind === 'temporal restart') await restartTemporal(h, watch);
    else await terminatePostgresSessions(h, watch);
  }
}

/** One full parity run (a fixed seed, so its response-shape sample is the undisturbed run's), with a fault aimed at it. */
async function parityRun(
  h: Harness,
  taskQueue: string,
  id: string,
  label: string,
  fault?: (w: Watch) => Promise<void>,
): Promise<ParityRun> {
  const handle = await throughOutage(
    'starting parity',
    () => h.client.workflow.start(Parity, { taskQueue, workflowId: id, args: [{ mode: 'full', seed: 'chaos', examples: 5 }] }),
    60_000,
  );
  let done = false;
  const result = outcomeOf<ParityResult>('parity', () => handle.result()).finally(() => (done = true));
  const first = h.faults.length;
  if (fault) await fault(parityWatch(label, () => done));
  const r = await result;
  // a fault that outlasted the recovery budget: say when parity did finish
  const end = secondsSince(h.t0);
  for (const f of h.faults.slice(first).filter((x) => x.recoveredAfter === undefined)) {
    f.observed += ` (it finished ${(end - f.at).toFixed(1)} s after the fault)`;
  }
  return { id, ...r };
}
