import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { sql } from 'kysely';
import type { RunningApi } from '../../../api/server';
import { SCOPES } from '../../../domain/auth';
import { localIssuerKeys, mintToken } from '../../../lib/auth-keys';
import { freePort } from '../../../lib/ports';
import { stderrLog, type Stack } from '../../../lib/stack';
import { ensureTemporal, type TemporalHandle } from '../../../lib/temporal';
import { runWorker, type RunningWorker } from '../../../workers/run';
import { startApiForStack } from '../../commands/serve';
import { findPid } from './cpu';

/**
 * The refresh bench's stack on top of the bench database: a Temporal dev server of its own (free ports, a throwaway
 * folder that also holds the local issuer's key pair), one in-process worker on a task queue of its own, and the
 * member stats API built as `npm run stack` builds it (startApiForStack: its own pool, bearer auth, the write routes
 * on that Temporal and task queue, REFRESH_WAIT_MS), on a free port; a token minted as autopilot's.
 */

export interface RefreshBenchStack {
  stack: Stack;
  worker: RunningWorker;
  api: RunningApi;
  token: string;
  taskQueue: string;
  waitMs: number;
  /** our Temporal dev server's process (undefined: TEMPORAL_ADDRESS names a cluster) */
  temporalPid?: number;
  close(): Promise<void>;
}

export async function startRefreshStack(base: Stack): Promise<RefreshBenchStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cutover-bench-refresh-'));
  const taskQueue = `bench-refresh-${process.pid}`;
  const stops: Array<() => Promise<void>> = [async () => rmSync(dataDir, { recursive: true, force: true })];
  const close = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch((e: Error) => stderrLog(`refresh bench shutdown: ${e.message}`));
  };
  try {
    const own = !base.config.temporal.address;
    const config = {
      ...base.config,
      dataDir,
      logLevel: 'silent' as const,
      temporal: {
        ...base.config.temporal,
        taskQueue,
        ...(own ? { port: await freePort(), uiPort: await freePort() } : {}),
      },
    };
    const temporal: TemporalHandle = await ensureTemporal(config, stderrLog);
    stops.push(() => temporal.stop());
    const client = new Client({ connection: temporal.connection, namespace: config.temporal.namespace });
    const stack: Stack = { ...base, config, temporal, client };
    const worker = await runWorker(stack, { taskQueue });
    stops.push(() => worker.stop());
    const api = await startApiForStack(stack, { port: 0 });
    stops.push(() => api.close());
    const keys = await localIssuerKeys(dataDir);
    const token = await mintToken(keys, {
      scopes: [SCOPES.refresh],
      clientId: 'autopilot-v6',
      ttlSeconds: 3600,
      issuer: config.auth.issuer,
      audience: config.auth.audience,
    });
    const temporalPid = own ? findPid(dataDir) : undefined;
    return { stack, worker, api, token, taskQueue, waitMs: config.refresh.waitMs, temporalPid, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * Before the first ending: the source data is about to stop being the seed's, so the seed checkpoint goes and the
 * next bench of any kind (this one included) seeds the bench database again.
 */
export async function forgetSeed(stack: Stack): Promise<void> {
  await sql`DELETE FROM platform.checkpoint WHERE key = 'bench:seed'`.execute(stack.dbs.members);
}

/**
 * Phase E's records and the simulated legacy pipeline's ledger from earlier runs, which a reseed keeps: a reseed
 * brings back the same challenge ids as ACTIVE, and an old ledger entry would end one with its old end date, an old
 * ratedEvent row would skip its rating. Every run starts from none.
 */
export async function clearRefreshState(stack: Stack): Promise<void> {
  const db = stack.dbs.members;
  await sql`TRUNCATE platform."ratedEvent", platform."refreshLog", platform."refreshMark"`.execute(db);
  await sql`DROP SCHEMA IF EXISTS autopilot CASCADE`.execute(db);
}
