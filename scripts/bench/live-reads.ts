import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { BackfillOptions, type BackfillProgress } from '../../domain/backfill';
import { summarize } from '../../domain/latency';
import { stderrLog, type Stack } from '../../lib/stack';
import { hasWorker } from '../../workers/run';
import { Backfill, backfillProgress } from '../../workflows/backfill/messages';
import { startApiForStack } from '../commands/serve';
import type { SeedSize } from '../seed/index';
import { WorkerProcess } from '../chaos/worker-process';
import { openBenchStack } from './bench-db';

/**
 * Live reads while phase A runs, as production has it: readers on the member stats API (its own pool, publishing
 * its latency), the backfill on a worker in another process. Reads arrive at a fixed rate whatever the answers'
 * speed (an open loop: slow answers do not slow the readers down), once with the backfill not throttling and once
 * throttling. Prints p50/p99 per run against the idle platform's, and whether the budget held.
 */

interface Run {
  name: string;
  seconds: number;
  reads: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** share of progress samples in which the backfill held itself back */
  throttledShare: number;
}

/** Fires GETs at `rate` per second until stop() and returns every latency (ms) and the failures. */
function readers(url: string, handles: string[], rate: number) {
  const latencies: number[] = [];
  let errors = 0;
  let i = 0;
  const pending = new Set<Promise<void>>();
  const timer = setInterval(() => {
    const handle = handles[(i * 7919) % handles.length]!;
    const path = i++ % 2 === 0 ? `/members/${handle}/stats` : `/members/${handle}/stats/history`;
    const sent = performance.now();
    const p = fetch(`${url}${path}`)
      .then(async (r) => {
        await r.arrayBuffer();
        if (r.status !== 200) errors++;
        latencies.push(performance.now() - sent);
      })
      .catch(() => void errors++)
      .finally(() => pending.delete(p));
    pending.add(p);
  }, 1000 / rate);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(pending);
      return { latencies, errors };
    },
  };
}

async function measure(name: string, url: string, handles: string[], rate: number, during: () => Promise<number>): Promise<Run> {
  const r = readers(url, handles, rate);
  const started = performance.now();
  const share = await during().then(
    (v) => ({ v }),
    (e: unknown) => ({ e }),
  );
  const { latencies, errors } = await r.stop(); // the readers stop either way
  if ('e' in share) throw share.e;
  const throttledShare = share.v;
  const s = summarize(latencies);
  return {
    name,
    seconds: (performance.now() - started) / 1000,
    reads: latencies.length,
    errors,
    p50Ms: s.p50Ms,
    p99Ms: s.p99Ms,
    maxMs: Math.max(0, ...latencies),
    throttledShare,
  };
}

export async function benchLiveReads(opts: {
  size: SeedSize;
  rate: number;
  concurrency: number;
  budgetMs: number;
  idleSeconds: number;
  json: boolean;
}): Promise<void> {
  const stack = await openBenchStack(opts.size);
  const taskQueue = `bench-live-reads-${process.pid}`;
  const worker = new WorkerProcess(
    { DATABASE_URL: stack.config.databaseUrl, TEMPORAL_ADDRESS: stack.temporal!.address, TASK_QUEUE: taskQueue },
    join(tmpdir(), `cutover-live-reads-worker-${process.pid}.log`),
  );
  // the API's request log would bury the figures
  const api = await startApiForStack({ ...stack, config: { ...stack.config, logLevel: 'silent' } }, { port: 0, log: () => {} });
  try {
    const db = stack.dbs.members;
    const handles = (await sql<{ handle: string }>`SELECT handle FROM members."member" ORDER BY random() LIMIT 5000`.execute(db)).rows.map(
      (r) => r.handle,
    );
    const deadline = Date.now() + 120_000;
    while (!(await hasWorker(stack.client!, stack.config.temporal.namespace, taskQueue))) {
      if (Date.now() > deadline || !worker.alive)
        throw new Error(`the bench worker did not start polling${worker.unexpectedExit ? `: ${worker.unexpectedExit}` : ''}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    await sql`DELETE FROM platform."readLatency"`.execute(db);

    const backfill =
      (enabled: boolean, budgetMs = opts.budgetMs) =>
      async () => {
        await sql`TRUNCATE members."memberStats", members."memberStatsHistory", members."memberMaxRating"`.execute(db);
        const options = BackfillOptions.parse({
          concurrency: opts.concurrency,
          restart: true,
          throttle: { enabled, readBudgetMs: budgetMs },
        });
        const h = await stack.client!.workflow.start(Backfill, {
          taskQueue,
          workflowId: `bench/live-reads/${enabled ? 'throttled' : 'unthrottled'}/${Date.now()}`,
          args: [{ options }],
        });
        const states: BackfillProgress['state'][] = [];
        let done = false;
        const result = h.result().finally(() => (done = true));
        while (!done) {
          const p = await h.query(backfillProgress).catch(() => undefined);
          if (p?.state === 'running' || p?.state === 'throttled') states.push(p.state);
          await new Promise((r) => setTimeout(r, 250));
        }
        await result;
        return states.length === 0 ? 0 : states.filter((s) => s === 'throttled').length / states.length;
      };

    stderrLog(`live reads at ${opts.rate}/s: idle for ${opts.idleSeconds} s`);
    const idle = await measure('idle (no backfill)', api.url, handles, opts.rate, async () => {
      await new Promise((r) => setTimeout(r, opts.idleSeconds * 1000));
      return 0;
    });
    stderrLog(`backfill (concurrency ${opts.concurrency}) with throttling off`);
    const off = await measure('backfill, throttling off', api.url, handles, opts.rate, backfill(false));
    stderrLog(`backfill (concurrency ${opts.concurrency}) with throttling on (budget ${opts.budgetMs} ms)`);
    const on = await measure('backfill, throttling on', api.url, handles, opts.rate, backfill(true));
    // a budget this platform's own reads press against: shows the throttle at work, not only that it stays out of the way
    const tightMs = Math.max(10, Math.ceil(idle.p99Ms * 1.5));
    stderrLog(`backfill (concurrency ${opts.concurrency}) with throttling on, tight budget ${tightMs} ms (1.5× idle p99)`);
    const tight = await measure(`throttling on, ${tightMs} ms budget`, api.url, handles, opts.rate, backfill(true, tightMs));

    const out = {
      size: opts.size,
      rate: opts.rate,
      concurrency: opts.concurrency,
      budgetMs: opts.budgetMs,
      runs: [idle, off, on, tight],
      p99OverIdle: { off: off.p99Ms / idle.p99Ms, on: on.p99Ms / idle.p99Ms, tight: tight.p99Ms / idle.p99Ms },
      backfillSlowdown: on.seconds / off.seconds,
      budgetHeld: on.p99Ms <= opts.budgetMs,
      tight: { budgetMs: tightMs, held: tight.p99Ms <= tightMs, slowdown: tight.seconds / off.seconds },
    };
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      return;
    }
    const ms = (x: number) => `${x.toFixed(1).padStart(8)} ms`;
    process.stdout.write(
      [
        `live reads during a ${opts.size} backfill (reads at ${opts.rate}/s, open loop; backfill concurrency ${opts.concurrency})`,
        `  ${'run'.padEnd(26)} ${'seconds'.padStart(8)} ${'reads'.padStart(7)} ${'errors'.padStart(7)} ${'p50'.padStart(11)} ${'p99'.padStart(11)} ${'max'.padStart(11)}  throttled`,
        ...out.runs.map(
          (r) =>
            `  ${r.name.padEnd(26)} ${r.seconds.toFixed(1).padStart(8)} ${String(r.reads).padStart(7)} ${String(r.errors).padStart(7)} ${ms(r.p50Ms)} ${ms(r.p99Ms)} ${ms(r.maxMs)}  ${(r.throttledShare * 100).toFixed(0)}%`,
        ),
        `  p99 over idle: throttling off ${out.p99OverIdle.off.toFixed(1)}×, on ${out.p99OverIdle.on.toFixed(1)}×, tight ${out.p99OverIdle.tight.toFixed(1)}×`,
        `  budget ${opts.budgetMs} ms with throttling on: ${out.budgetHeld ? 'held' : 'NOT held'} (p99 ${on.p99Ms.toFixed(1)} ms; the backfill took ${out.backfillSlowdown.toFixed(2)}× as long as unthrottled)`,
        `  tight budget ${tightMs} ms: ${out.tight.held ? 'held' : 'NOT held'} (p99 ${tight.p99Ms.toFixed(1)} ms; the backfill took ${out.tight.slowdown.toFixed(2)}× as long, throttled ${(tight.throttledShare * 100).toFixed(0)}% of the time)`,
      ].join('\n') + '\n',
    );
  } finally {
    await api.close();
    await worker.kill();
    await stack.close();
  }
}
