import { performance } from 'node:perf_hooks';
import { sql, type Kysely } from 'kysely';
import { processBatch, untimed } from '../../store/backfill/batch';
import type { Timings } from '../../domain/backfill';
import { measureFloor, type Floor } from './backfill-floor';
import { loadCatalog } from '../../store/catalog';
import { developReplay } from '../../store/backfill/develop-replay';
import { BackfillOptions, type Scope } from '../../domain/backfill';
import { stderrLog, type Stack } from '../../lib/stack';
import { ensureTemplate, freshCopy } from './bench-db';
import { dropDatabase } from '../../lib/postgres';
import { runWorker } from '../../workers/run';
import type { BackfillResult } from '../../workflows/backfill/workflow';
import type { SeedSize } from '../seed/index';
import { Backfill } from '../../workflows/backfill/messages';

const COPY = 'cutover_bench_backfill';

/**
 * Phase A speed, all in one process against one database: (a) the orchestrated backfill workflow, (b) the floor —
 * its final rows written by binary COPY into empty tables with the same indexes (backfill-floor.ts), (c) the
 * baseline — one member at a time at concurrency 4, as the original script worked (timed on a sample: it is a rate).
 */

async function clearUnified(db: Kysely<any>): Promise<void> {
  await sql`TRUNCATE members."memberStats", members."memberStatsHistory", members."memberMaxRating"`.execute(db);
}

async function memberCount(db: Kysely<any>): Promise<number> {
  return (await sql<{ n: number }>`SELECT count(*)::int AS n FROM members."member"`.execute(db)).rows[0]!.n;
}

const OPTIONS = BackfillOptions.parse({});

/** The batch code over `scope` in one transaction, as the activity runs it but with no orchestration around it. */
async function direct(
  stack: Stack,
  scope: Scope,
  replay: ReturnType<typeof developReplay>,
  catalog: Awaited<ReturnType<typeof loadCatalog>>,
): Promise<void> {
  await stack.dbs.members.transaction().execute(async (tx) => {
    await processBatch(tx, {
      dbs: stack.dbs,
      catalog,
      scope,
      options: OPTIONS,
      plan: { fullRun: true, runKey: 'bench' },
      lap: untimed,
      replay: () => replay,
    });
  });
}

/** (c) per member, four at a time, each its own round trips and transaction (the replay computed once, for free). */
async function baselinePass(stack: Stack, sample: number): Promise<{ members: number; seconds: number }> {
  const catalog = await loadCatalog(stack.dbs.challenges);
  const replay = developReplay(stack.dbs, catalog);
  await replay;
  const ids = (
    await sql<{ userId: number }>`SELECT "userId" FROM members."member" ORDER BY "userId" LIMIT ${sample}`.execute(stack.dbs.members)
  ).rows.map((r) => r.userId);
  const queue = [...ids];
  const started = performance.now();
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) await direct(stack, { userIds: [id] }, replay, catalog);
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return { members: ids.length, seconds: (performance.now() - started) / 1000 };
}

/** (a) the workflow end to end, timed from start to result; the worker is up (bundled, polling) beforehand. */
async function orchestrated(stack: Stack, concurrency: number, batchSize: number): Promise<{ result: BackfillResult; seconds: number }> {
  const taskQueue = `bench-backfill-${process.pid}`;
  const worker = await runWorker(stack, { taskQueue });
  try {
    const started = performance.now();
    const h = await stack.client!.workflow.start(Backfill, {
      taskQueue,
      workflowId: `bench/backfill/${Date.now()}`,
      args: [{ options: BackfillOptions.parse({ concurrency, batchSize }) }],
    });
    const result = await h.result();
    return { result, seconds: (performance.now() - started) / 1000 };
  } finally {
    await worker.stop();
  }
}

/** The worker runs in this process: its peak resident memory while the run lasts, sampled. */
function peakMemory(): { stop: () => number } {
  let peak = process.memoryUsage().rss;
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 250);
  return {
    stop: () => {
      clearInterval(t);
      return Math.round(Math.max(peak, process.memoryUsage().rss) / 2 ** 20);
    },
  };
}

export interface BackfillBenchResult {
  size: SeedSize;
  members: number;
  orchestrated: { membersPerSec: number; seconds: number; timingsMs: Timings; batches: number; peakRssMb: number };
  floor: Floor;
  baseline: { membersPerSec: number; seconds: number; sampledMembers: number };
  ratioToFloor: number;
  speedupOverBaseline: number;
}

async function benchOne(
  size: SeedSize,
  opts: { concurrency: number; batchSize: number; baselineSample: number },
): Promise<BackfillBenchResult> {
  // a fresh copy of the seeded template: planner statistics as on a live platform, nothing left by other benches
  const { stack } = await freshCopy((await ensureTemplate(size)).name, COPY);
  try {
    const members = await memberCount(stack.dbs.members);

    stderrLog(`(a) orchestrated: backfill workflow over ${members} members, concurrency ${opts.concurrency}, batches of ${opts.batchSize}`);
    const memory = peakMemory();
    const { result: r, seconds: orchestratedSeconds } = await orchestrated(stack, opts.concurrency, opts.batchSize);
    const peakRssMb = memory.stop();

    stderrLog("(b) floor: the run's final rows written by binary COPY into empty tables with the same indexes");
    const floor = await measureFloor(stack.dbs.members, stack.dbs.pools.members);

    await clearUnified(stack.dbs.members);
    stderrLog(`(c) baseline: one member at a time, concurrency 4, on the first ${opts.baselineSample} members`);
    const baseline = await baselinePass(stack, opts.baselineSample);

    const membersPerSec = r.totals.members / orchestratedSeconds;
    const baselinePerSec = baseline.members / baseline.seconds;
    return {
      size,
      members,
      orchestrated: { membersPerSec, seconds: orchestratedSeconds, timingsMs: r.totals.timings, batches: r.totals.batches, peakRssMb },
      floor,
      baseline: { membersPerSec: baselinePerSec, seconds: baseline.seconds, sampledMembers: baseline.members },
      ratioToFloor: orchestratedSeconds / floor.seconds,
      speedupOverBaseline: membersPerSec / baselinePerSec,
    };
  } finally {
    await stack.close();
    await dropDatabase(stack.config.databaseUrl);
  }
}

function describe(out: BackfillBenchResult): string {
  const f = (x: number) => x.toFixed(0).padStart(8);
  const o = out.orchestrated;
  const steps = Object.entries(o.timingsMs)
    .map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)}`)
    .join(', ');
  const rows = Object.entries(out.floor.tables)
    .map(([t, x]) => `${t} ${x.rows} rows ${x.seconds.toFixed(1)} s`)
    .join(', ');
  return [
    `backfill bench (${out.size}: ${out.members} members)`,
    `  orchestrated ${f(o.membersPerSec)} members/s  (${o.seconds.toFixed(1)} s, ${o.batches} batches, peak RSS ${o.peakRssMb} MB)`,
    `    per step, summed over batches (s): ${steps}`,
    `  floor        ${out.floor.seconds.toFixed(1).padStart(8)} s  (binary COPY of the final rows: ${rows})`,
    `  baseline     ${f(out.baseline.membersPerSec)} members/s  (${out.baseline.seconds.toFixed(1)} s for ${out.baseline.sampledMembers} members, one at a time ×4)`,
    `  ratioToFloor ${out.ratioToFloor.toFixed(2)} (goal ≤ 3: ${out.ratioToFloor <= 3 ? 'met' : 'NOT met'})`,
    `  speedupOverBaseline ${out.speedupOverBaseline.toFixed(1)}× (goal ≥ 20: ${out.speedupOverBaseline >= 20 ? 'met' : 'NOT met'})`,
  ].join('\n');
}

/** One size: its figures. Several (`--size small,medium`): each in turn, then members per second side by side. */
export async function benchBackfill(opts: {
  sizes: SeedSize[];
  json: boolean;
  concurrency: number;
  batchSize: number;
  baselineSample: number;
}): Promise<void> {
  const runs: BackfillBenchResult[] = [];
  for (const size of opts.sizes) runs.push(await benchOne(size, opts));
  const perSec = Object.fromEntries(runs.map((r) => [r.size, r.orchestrated.membersPerSec]));
  if (opts.json) {
    const out = runs.length === 1 ? runs[0] : { runs, membersPerSec: perSec };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  const lines = runs.map(describe);
  if (runs.length > 1) {
    const first = runs[0]!;
    lines.push(
      `members per second by size: ${runs
        .map(
          (r) =>
            `${r.size} ${r.orchestrated.membersPerSec.toFixed(0)} (${((r.orchestrated.membersPerSec / first.orchestrated.membersPerSec) * 100).toFixed(0)}% of ${first.size})`,
        )
        .join(', ')}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
