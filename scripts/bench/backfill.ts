import { performance } from 'node:perf_hooks';
import { sql, type Kysely } from 'kysely';
import { processBatch, untimed } from '../../store/backfill/batch';
import { loadCatalog } from '../../store/catalog';
import { developReplay } from '../../store/backfill/develop-replay';
import { refreshRanks } from '../../store/derived';
import { BackfillOptions, type Scope } from '../../domain/backfill';
import { stderrLog, type Stack } from '../../lib/stack';
import { openBenchStack } from './bench-db';
import { runWorker } from '../../workers/run';
import type { BackfillResult } from '../../workflows/backfill/workflow';
import type { SeedSize } from '../seed/index';
import { Backfill } from '../../workflows/backfill/messages';

/**
 * Phase A speed, all in one process against one database: (a) the orchestrated backfill workflow, (b) the limit —
 * the same SQL over every member in one pass, no orchestration, (c) the baseline — one member at a time at
 * concurrency 4, as the original script worked (timed on a sample of members: it is a rate).
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

/** (b) the limit: every member in one set-based pass (one replay, one transaction), then ranks. */
async function limitPass(stack: Stack): Promise<number> {
  const started = performance.now();
  const catalog = await loadCatalog(stack.dbs.challenges);
  await direct(stack, { range: [1, Number.MAX_SAFE_INTEGER] }, developReplay(stack.dbs, catalog), catalog);
  await refreshRanks(stack.dbs.members);
  return (performance.now() - started) / 1000;
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

export async function benchBackfill(opts: {
  size: SeedSize;
  json: boolean;
  concurrency: number;
  batchSize: number;
  baselineSample: number;
}): Promise<void> {
  const stack = await openBenchStack(opts.size);
  try {
    const members = await memberCount(stack.dbs.members);

    await clearUnified(stack.dbs.members);
    stderrLog(`(b) limit: one set-based pass over ${members} members`);
    const limitSeconds = await limitPass(stack);

    await clearUnified(stack.dbs.members);
    stderrLog(`(a) orchestrated: backfill workflow, concurrency ${opts.concurrency}, batches of ${opts.batchSize}`);
    const { result: r, seconds: orchestratedSeconds } = await orchestrated(stack, opts.concurrency, opts.batchSize);

    await clearUnified(stack.dbs.members);
    stderrLog(`(c) baseline: one member at a time, concurrency 4, on the first ${opts.baselineSample} members`);
    const baseline = await baselinePass(stack, opts.baselineSample);

    const out = {
      size: opts.size,
      members,
      orchestrated: {
        membersPerSec: r.totals.members / orchestratedSeconds,
        seconds: orchestratedSeconds,
        timingsMs: r.totals.timings,
        batches: r.totals.batches,
      },
      limit: { membersPerSec: members / limitSeconds, seconds: limitSeconds },
      baseline: { membersPerSec: baseline.members / baseline.seconds, seconds: baseline.seconds, sampledMembers: baseline.members },
      ratioToLimit: 0,
      speedupOverBaseline: 0,
    };
    out.ratioToLimit = out.orchestrated.membersPerSec / out.limit.membersPerSec;
    out.speedupOverBaseline = out.orchestrated.membersPerSec / out.baseline.membersPerSec;
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else {
      const f = (x: number) => x.toFixed(0).padStart(8);
      process.stdout.write(
        [
          `backfill bench (${opts.size}: ${members} members)`,
          `  orchestrated ${f(out.orchestrated.membersPerSec)} members/s  (${orchestratedSeconds.toFixed(1)} s, ${r.totals.batches} batches)`,
          `  limit        ${f(out.limit.membersPerSec)} members/s  (${limitSeconds.toFixed(1)} s, one set-based pass)`,
          `  baseline     ${f(out.baseline.membersPerSec)} members/s  (${baseline.seconds.toFixed(1)} s for ${baseline.members} members, one at a time ×4)`,
          `  ratioToLimit ${out.ratioToLimit.toFixed(2)} (goal ≥ 0.70: ${out.ratioToLimit >= 0.7 ? 'met' : 'NOT met'})`,
          `  speedupOverBaseline ${out.speedupOverBaseline.toFixed(1)}× (goal ≥ 20: ${out.speedupOverBaseline >= 20 ? 'met' : 'NOT met'})`,
        ].join('\n') + '\n',
      );
    }
  } finally {
    await stack.close();
  }
}
