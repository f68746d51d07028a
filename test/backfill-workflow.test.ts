import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { zeroTimings, type BackfillPlan, type BatchInput, type BatchResult, type UserRange } from '../domain/backfill';
import { Failure } from '../domain/failures';
import type { Activities } from '../activities';
import { Backfill, backfillProgress, pauseSignal, resumeSignal, setConcurrency } from '../workflows/backfill/messages';
import type { backfill } from '../workflows/backfill/workflow';
import { uniqueTaskQueue, workflowBundle } from './support/stack';

/**
 * The backfill workflow's steering (pause, resume, retune, continue-as-new, a failed batch) against stubbed
 * activities on the real dev server. Batches block until the test releases them, so every assertion waits on
 * the workflow's own state (queried), never on wall-clock sleeps: once a query shows the completions processed,
 * the workflow has already decided whether to start more.
 */

type Gate = { input: BatchInput; release(): void; fail(e: Error): void };

/** Stub activities: prepare cuts `batches` ranges; each batch waits for the test; finalize and evidence succeed. */
class Stubs {
  readonly started: Gate[] = [];
  private waiters: Array<{ n: number; resolve(): void }> = [];

  constructor(private readonly batches: number) {}

  activities(): Partial<Activities> {
    const ranges: UserRange[] = Array.from({ length: this.batches }, (_, i) => [i * 10 + 1, i * 10 + 10]);
    return {
      backfillPrepare: async (): Promise<BackfillPlan> => ({
        fullRun: true,
        runKey: 'stub',
        ranges,
        userIds: [],
        membersTotal: this.batches * 10,
      }),
      backfillBatch: (input: BatchInput) =>
        new Promise<BatchResult>((resolve, reject) => {
          const range = 'range' in input.scope ? input.scope.range : ([0, 0] as const);
          const result: BatchResult = {
            range,
            members: 10,
            missingMembers: 0,
            missingSample: [],
            statsRows: 10,
            historyRows: 20,
            staleRemoved: 0,
            rerated: 0,
            timings: zeroTimings(),
            heaviest: [],
            ms: 1,
          };
          this.started.push({ input, release: () => resolve(result), fail: reject });
          if (this.aborted) resolve(result);
          this.waiters = this.waiters.filter((w) => (this.started.length >= w.n ? (w.resolve(), false) : true));
        }),
      backfillFinalize: async () => ({ ranksChanged: 0, orphansRemoved: 0, csvFiles: [] }),
      storeEvidence: async () => 1,
      readDbHealth: async () => ({ readP99Ms: 5, readSamples: 10, activeQueries: 1, lockWaits: 0 }),
    };
  }

  /** Resolves once n batches have started in total. */
  startedAtLeast(n: number): Promise<void> {
    if (this.started.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  releaseAll(): void {
    for (const g of this.started) g.release();
  }

  /** After a failed assertion: release everything and let later batches through, so the worker can drain. */
  abort(): void {
    this.aborted = true;
    this.releaseAll();
  }
  private aborted = false;
}

/** Polls the workflow's progress until `pred` holds (each poll is a query round trip, not a timed wait). */
async function until(h: WorkflowHandle<typeof backfill>, pred: (p: Awaited<ReturnType<typeof queryProgress>>) => boolean) {
  for (let i = 0; i < 2000; i++) {
    const p = await queryProgress(h);
    if (pred(p)) return p;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error('workflow never reached the expected state');
}
const queryProgress = (h: WorkflowHandle<typeof backfill>) => h.query(backfillProgress);

const OPTIONS = { skipHistory: false, skipRerate: true, concurrency: 1, batchSize: 10, csvOnly: false };

describe('backfill workflow steering (stubbed activities)', () => {
  let connection: NativeConnection;
  let clientConnection: Connection;
  let client: Client;

  beforeAll(async () => {
    try {
      Runtime.install({ logger: new DefaultLogger('ERROR') });
    } catch {
      // installed already in this process
    }
    connection = await NativeConnection.connect({ address: inject('temporalAddress') });
    clientConnection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection: clientConnection });
    await workflowBundle();
  });
  afterAll(async () => {
    await clientConnection?.close();
    await connection?.close();
  });

  /** Runs fn with a worker whose activities are the stubs, on a task queue of its own. */
  async function withStubs<T>(batches: number, fn: (stubs: Stubs, taskQueue: string) => Promise<T>): Promise<T> {
    const stubs = new Stubs(batches);
    const taskQueue = uniqueTaskQueue('bf-wf');
    const worker = await Worker.create({ connection, taskQueue, workflowBundle: await workflowBundle(), activities: stubs.activities() });
    // a failed assertion must not leave a batch blocked: the worker could never drain
    return worker.runUntil(fn(stubs, taskQueue).finally(() => stubs.abort()));
  }

  const start = (taskQueue: string, options: Partial<typeof OPTIONS> = {}, historyBudget?: number) =>
    client.workflow.start(Backfill, {
      taskQueue,
      workflowId: `test/backfill-wf/${uniqueTaskQueue('id')}`,
      args: [{ options: { ...OPTIONS, ...options }, tuning: historyBudget ? { historyBudget } : undefined }],
    });

  it('pause holds new batches while in-flight ones finish; resume continues; the result counts every batch once', async () => {
    await withStubs(6, async (stubs, q) => {
      const h = await start(q, { concurrency: 2 });
      await stubs.startedAtLeast(2);
      await h.signal(pauseSignal);
      await until(h, (p) => p.state === 'paused');
      stubs.releaseAll();
      const paused = await until(h, (p) => p.batchesDone === 2 && p.inFlight === 0);
      expect(paused.state).toBe('paused');
      expect(stubs.started).toHaveLength(2); // nothing started while paused
      expect(paused.etaSeconds === null || paused.etaSeconds >= 0).toBe(true);
      await h.signal(resumeSignal);
      for (let n = 3; n <= 6; n++) {
        await stubs.startedAtLeast(n);
        stubs.releaseAll();
      }
      const r = await h.result();
      expect(r.totals.batches).toBe(6);
      expect(r.totals.members).toBe(60);
      expect(stubs.started.map((g) => ('range' in g.input.scope ? g.input.scope.range[0] : -1))).toEqual([1, 11, 21, 31, 41, 51]);
    });
  });

  it('retune up lets more batches in flight at once, retune down lets fewer; the validator refuses out-of-range values', async () => {
    await withStubs(8, async (stubs, q) => {
      const h = await start(q, { concurrency: 1 });
      await stubs.startedAtLeast(1);
      for (const bad of [0, 33, 1.5]) {
        const e = await h.executeUpdate(setConcurrency, { args: [bad] }).catch((x: unknown) => x);
        expect(String(((e as Error).cause as Error | undefined)?.message)).toMatch(/concurrency must be between 1 and 32, got/);
      }
      expect((await queryProgress(h)).concurrency).toBe(1);
      expect(await h.executeUpdate(setConcurrency, { args: [3] })).toBe(3);
      await stubs.startedAtLeast(3);
      expect((await until(h, (p) => p.inFlight === 3)).concurrency).toBe(3);
      expect(await h.executeUpdate(setConcurrency, { args: [1] })).toBe(1);
      stubs.releaseAll(); // 3 done → only one more may start
      const p = await until(h, (x) => x.batchesDone === 3);
      expect(p.inFlight).toBe(1); // the workflow's own count: one scheduled, no more
      await stubs.startedAtLeast(4);
      expect(stubs.started).toHaveLength(4);
      for (let n = 5; n <= 8; n++) {
        stubs.releaseAll();
        await stubs.startedAtLeast(n);
      }
      stubs.releaseAll();
      expect((await h.result()).totals.batches).toBe(8);
    });
  });

  it('a retune while paused takes effect on resume', async () => {
    await withStubs(4, async (stubs, q) => {
      const h = await start(q, { concurrency: 1 });
      await stubs.startedAtLeast(1);
      await h.signal(pauseSignal);
      await h.executeUpdate(setConcurrency, { args: [3] });
      stubs.releaseAll();
      await until(h, (p) => p.batchesDone === 1 && p.inFlight === 0);
      expect(stubs.started).toHaveLength(1);
      await h.signal(resumeSignal);
      await stubs.startedAtLeast(4);
      expect((await queryProgress(h)).inFlight).toBe(3);
      stubs.releaseAll();
      expect((await h.result()).totals.batches).toBe(4);
    });
  });

  it('continues as new past its history budget, carrying cursor, totals and a retuned concurrency', async () => {
    await withStubs(12, async (stubs, q) => {
      const h = await start(q, { concurrency: 1 }, 40);
      await stubs.startedAtLeast(1);
      await h.executeUpdate(setConcurrency, { args: [2] });
      for (let n = 2; n <= 12; n++) {
        stubs.releaseAll();
        await stubs.startedAtLeast(n);
      }
      expect((await queryProgress(h)).concurrency).toBe(2);
      stubs.releaseAll();
      const r = await h.result();
      expect(r.totals.batches).toBe(12);
      expect(r.totals.members).toBe(120);
      expect(r.options.concurrency).toBe(2);
      const first = await client.workflow.getHandle(h.workflowId, h.firstExecutionRunId).describe();
      expect(first.status.name).toBe('CONTINUED_AS_NEW');
      // no range ran twice and none was skipped across the hand-over
      const starts = stubs.started.map((g) => ('range' in g.input.scope ? g.input.scope.range[0] : -1));
      expect([...new Set(starts)].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i * 10 + 1));
      expect(starts).toHaveLength(12);
    });
  });

  it('a batch that fails for good stops the run with BackfillFailed, naming the error; no new batch starts', async () => {
    await withStubs(5, async (stubs, q) => {
      const h = await start(q, { concurrency: 2 });
      await stubs.startedAtLeast(2);
      stubs.started[0]!.fail(ApplicationFailure.nonRetryable('bad data in range 1', Failure.InvalidInput));
      // the other batch completes once the failure is on record: completed first, its slot would rightly go to a
      // third batch (a race the test lost under load, waiting forever on a batch nobody released)
      await until(h, (p) => p.lastError !== undefined);
      stubs.started[1]!.release();
      const err = await h.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
      expect(cause.type).toBe(Failure.BackfillFailed);
      expect(cause.message).toMatch(/bad data in range 1/);
      expect(stubs.started).toHaveLength(2);
    });
  });
});
