import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { processBatch, untimed } from '../../store/backfill/batch';
import { parityActivities } from '../../activities/parity';
import { loadCatalog } from '../../store/catalog';
import { refreshRanks } from '../../store/derived';
import { developReplay } from '../../store/backfill/develop-replay';
import { BackfillOptions } from '../../domain/backfill';
import { PARITY_CATEGORIES, ParityOptions, type ParityCategory } from '../../domain/parity';
import { stderrLog, type Stack } from '../../lib/stack';
import { runWorker } from '../../workers/run';
import type { ParityResult } from '../../workflows/parity/workflow';
import type { SeedSize } from '../seed/index';
import { openBenchStack } from './bench-db';
import { Parity } from '../../workflows/parity/messages';

/**
 * Phase B speed against the bench database (cutover_bench, shared with the backfill bench): (a) full parity — the
 * workflow end to end, every member, set-based — vs (b) the original tool's approach, every category's queries
 * one member at a time (four in flight), timed on `baselineSample` members and extrapolated to every member.
 * Goal: (a) under 10 s on medium.
 */

const GOAL_SECONDS = 10;

/** The backfill bench may be mid-run on this database: touching its tables would spoil both. */
async function ensureAlone(stack: Stack): Promise<void> {
  const r = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`.execute(
    stack.dbs.members,
  );
  if (r.rows[0]!.n > 0) throw new Error('another session is busy in cutover_bench (a running benchmark?); try again when it is done');
}

/**
 * Unified tables as a full backfill leaves them. The backfill bench leaves them partial, so "not empty" is not
 * enough: the data watermark recorded after our own backfill says whether anything changed since.
 */
async function ensureBackfilled(stack: Stack, watermark: () => Promise<string>): Promise<void> {
  const key = 'bench:parity:backfilled';
  const r = await sql<{ value: { watermark: string } }>`SELECT value FROM platform.checkpoint WHERE key = ${key}`.execute(
    stack.dbs.members,
  );
  if (r.rows[0]?.value.watermark === (await watermark())) return;
  stderrLog('backfilling every member (one set-based pass)');
  const catalog = await loadCatalog(stack.dbs.challenges);
  const replay = developReplay(stack.dbs, catalog);
  await stack.dbs.members.transaction().execute(async (tx) => {
    await sql`SET LOCAL work_mem = '256MB'`.execute(tx);
    await sql`TRUNCATE members."memberStats", members."memberStatsHistory", members."memberMaxRating"`.execute(tx);
    const options = BackfillOptions.parse({});
    await processBatch(tx, {
      dbs: stack.dbs,
      catalog,
      scope: { range: [1, Number.MAX_SAFE_INTEGER] },
      options,
      plan: { fullRun: true, runKey: 'bench' },
      lap: untimed,
      replay: () => replay,
    });
  });
  await refreshRanks(stack.dbs.members);
  await sql`ANALYZE members."memberStats"; ANALYZE members."memberStatsHistory"; ANALYZE members."memberMaxRating"`.execute(
    stack.dbs.members,
  );
  await sql`INSERT INTO platform.checkpoint (key, value) VALUES (${key}, ${JSON.stringify({ watermark: await watermark() })}::jsonb)
            ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "updatedAt" = now()`.execute(stack.dbs.members);
}

/** (a) the parity workflow over every member; the worker is bundled and polling before the clock starts. */
async function fullParity(stack: Stack): Promise<{ result: ParityResult; seconds: number }> {
  const taskQueue = `bench-parity-${process.pid}`;
  const worker = await runWorker(stack, { taskQueue });
  try {
    const started = performance.now();
    const result = await stack.client!.workflow.execute(Parity, {
      taskQueue,
      workflowId: `bench/parity/${Date.now()}`,
      args: [ParityOptions.parse({ mode: 'full', seed: 'bench' })],
    });
    return { result, seconds: (performance.now() - started) / 1000 };
  } finally {
    await worker.stop();
  }
}

/** (b) each member on its own: every category's queries scoped to one member; the whole-table check once. */
async function perMember(stack: Stack, sample: number): Promise<{ members: number; seconds: number; onceSeconds: number }> {
  const acts = parityActivities({ config: stack.config, dbs: stack.dbs });
  const ids = (
    await sql<{ userId: number }>`SELECT "userId" FROM members."member" ORDER BY md5('bench:' || "userId"::text) LIMIT ${sample}`.execute(
      stack.dbs.members,
    )
  ).rows.map((r) => r.userId);
  const perMemberCategories = PARITY_CATEGORIES.filter((c): c is ParityCategory => c !== 'most-recent-violations');
  const queue = [...ids];
  const started = performance.now();
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      for (const category of perMemberCategories)
        await acts.parityCategory({ category, scope: { userIds: [id] }, shapeUserIds: [id], examples: 10 });
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const seconds = (performance.now() - started) / 1000;
  const once = performance.now();
  await acts.parityCategory({ category: 'most-recent-violations', scope: { all: true }, shapeUserIds: [], examples: 10 });
  return { members: ids.length, seconds, onceSeconds: (performance.now() - once) / 1000 };
}

export async function benchParity(opts: { size: SeedSize; json: boolean; baselineSample?: number }): Promise<void> {
  const stack = await openBenchStack(opts.size);
  try {
    await ensureAlone(stack);
    const acts = parityActivities({ config: stack.config, dbs: stack.dbs });
    await ensureBackfilled(stack, async () => (await acts.parityWatermark()).value);
    const members = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM members."member"`.execute(stack.dbs.members)).rows[0]!.n;

    stderrLog(`(a) full parity over ${members} members (workflow)`);
    const full = await fullParity(stack);
    const sample = opts.baselineSample ?? 200;
    stderrLog(`(b) per-member approach on ${sample} members, four at a time`);
    const pm = await perMember(stack, sample);
    const extrapolated = (pm.seconds / pm.members) * members + pm.onceSeconds;

    const out = {
      size: opts.size,
      members,
      full: {
        seconds: full.seconds,
        passed: full.result.passed,
        counts: Object.fromEntries(PARITY_CATEGORIES.map((c) => [c, full.result.categories[c].count])),
        categoryMs: Object.fromEntries(PARITY_CATEGORIES.map((c) => [c, full.result.categories[c].ms])),
      },
      perMember: {
        sampledMembers: pm.members,
        seconds: pm.seconds,
        membersPerSec: pm.members / pm.seconds,
        extrapolatedSeconds: extrapolated,
      },
      speedup: extrapolated / full.seconds,
      goalSeconds: GOAL_SECONDS,
      goalMet: full.seconds < GOAL_SECONDS,
    };
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else {
      const ms = Object.entries(out.full.categoryMs)
        .map(([c, t]) => `${c} ${t}`)
        .join(', ');
      process.stdout.write(
        [
          `parity bench (${opts.size}: ${members} members)`,
          `  full parity        ${full.seconds.toFixed(1).padStart(8)} s  (${full.result.passed ? 'clean' : 'DIFFERENCES FOUND'}; category ms: ${ms})`,
          `  per-member         ${extrapolated.toFixed(1).padStart(8)} s  extrapolated (${pm.seconds.toFixed(1)} s for ${pm.members} members, ${out.perMember.membersPerSec.toFixed(0)} members/s ×4)`,
          `  speedup            ${out.speedup.toFixed(1)}×`,
          `  goal full < ${GOAL_SECONDS} s: ${out.goalMet ? 'met' : 'NOT met'}`,
        ].join('\n') + '\n',
      );
    }
  } finally {
    await stack.close();
  }
}
