import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { ParityResult } from '../../workflows/parity/workflow';
import type { ChaosTemporal } from './dev-server';
import { backfillMark, type BackfillMark } from './observe';
import type { WorkerFleet } from './workers';

/** What the suite varies. */
export interface ChaosSettings {
  /** worker SIGKILLs while the backfill runs (a fresh worker after each) */
  kills: number;
  /** Temporal dev server SIGKILLs and restarts (same port, same file) while the backfill runs */
  temporalRestarts: number;
  /** how long the Temporal server stays down */
  temporalDownSeconds: number;
  /** terminations of our Postgres sessions: all but the last while the backfill runs, the last one during parity */
  pgTerminations: number;
  /** also SIGKILL the worker while parity's checks run */
  parityKill: boolean;
  batchSize: number;
  concurrency: number;
  /** the backfill's heartbeat timeout: how soon a dead worker's batches are handed to another */
  heartbeatSeconds: number;
  /** a fault the run has not recovered from within this long fails it */
  recoverySeconds: number;
}

export type FaultKind = 'worker SIGKILL' | 'temporal restart' | 'postgres sessions';

export interface FaultRecord {
  kind: FaultKind;
  phase: 'backfill' | 'parity';
  /** seconds since the disturbed run started */
  at: number;
  /** the run's state at that moment, e.g. "40/125 batches" or "parity" */
  progress: string;
  /** it hit the backfill before its last batch committed, or parity before it finished */
  landed: boolean;
  observed: string;
  /** seconds until the work moved again; undefined when it never did within recoverySeconds */
  recoveredAfter?: number;
}

/** The live pieces of one run, shared by the fault injectors. */
export interface Harness {
  db: Kysely<any>;
  database: string;
  client: Client;
  temporal: ChaosTemporal;
  workers: WorkerFleet;
  settings: ChaosSettings;
  t0: number;
  log: (m: string) => void;
  faults: FaultRecord[];
}

/** A parity workflow's end: its result, or why there is none. */
export interface ParityRun {
  id: string;
  status: string;
  value?: ParityResult;
}

export const progressText = (m: BackfillMark | undefined) => (m ? `${m.committed}/${m.total} batches` : 'preparing');

/** Progress from the database, tolerating the harness's own hiccups. */
export async function markOf(h: Harness, runKey: string): Promise<BackfillMark | undefined> {
  return backfillMark(h.db, runKey).catch(() => undefined);
}
