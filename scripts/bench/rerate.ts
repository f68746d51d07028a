import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from '@temporalio/client';
import { sql } from 'kysely';
import { temporal as proto } from '@temporalio/proto';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { HistoryRow } from '../../domain/rating/replay';
import { eventsFrom, rerateStream, STREAMS, type Stream } from '../../domain/rerate';
import { freePort } from '../../lib/ports';
import { stderrLog, type Stack } from '../../lib/stack';
import { ensureTemporal, type TemporalHandle } from '../../lib/temporal';
import { loadCatalog } from '../../store/catalog';
import { loadStream, type LoadedStream } from '../../store/rerate/stream';
import { finalizeRerate, writeRerateRows } from '../../store/rerate/write';
import { runWorker } from '../../workers/run';
import { Rerate } from '../../workflows/rerate/messages';
import type { RerateResult } from '../../workflows/rerate/workflow';
import type { SeedSize } from '../seed/index';
import { openBenchStack } from './bench-db';
import { naiveActivities, naiveStream, type NaiveStream } from './rerate/naive-activities';
import { replaySeededFromRows } from './rerate/reference';
import type { naiveRerate } from './rerate/naive-workflow';
import {
  digest,
  dropSnapshot,
  ensureAlone,
  ensureBackfilled,
  restore,
  sameDigest,
  showDigest,
  snapshot,
  type Digest,
} from './rerate/state';

/**
 * Phase D speed (issue 10 item 8), both streams (Development, then Marathon Match) from their first event, every
 * run from the same table state (a full backfill; the streams' rows put back between runs):
 * (a) orchestrated — the rerate workflow per stream on a worker, default chunking and concurrency, throttling off,
 *     timed from start to result;
 * (b) the limit — loadStream, rerateStream in memory, one transaction writing every resulting row, finalizeRerate:
 *     no orchestration, loading included (the workflow loads too);
 * (c) the naive shape — one child workflow per challenge in sequence (scripts/bench/rerate/naive-workflow.ts, its
 *     own worker and task queue), on the first `naiveSample` challenges of each stream, extrapolated by events/s.
 * (a) and (b) must leave identical tables (digests printed). Goal on medium: ratioToLimit ≥ 0.5, speedupOverNaive ≥ 20.
 */

const GOAL_RATIO = 0.5;
const GOAL_SPEEDUP = 20;

const elapsed = (t0: number) => (performance.now() - t0) / 1000;

/** A Temporal dev server of our own (free ports, a throwaway data folder), unless TEMPORAL_ADDRESS names a cluster. */
async function ownTemporal(base: Stack): Promise<{ temporal: TemporalHandle; cleanup: () => Promise<void> }> {
  if (base.config.temporal.address) {
    const temporal = await ensureTemporal(base.config, stderrLog);
    return { temporal, cleanup: () => temporal.stop() };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'cutover-bench-rerate-'));
  const config = {
    ...base.config,
    temporal: { ...base.config.temporal, port: await freePort(), uiPort: await freePort() },
    dataDir,
  };
  const temporal = await ensureTemporal(config, stderrLog);
  return {
    temporal,
    cleanup: async () => {
      await temporal.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// --- (b) the limit ---

interface LimitRun {
  seconds: number;
  events: number;
  rows: number;
  written: number;
  /** seconds per phase: load (catalogue + streams), replay, write (one transaction, both streams), finalize */
  phases: { load: number; replay: number; write: number; finalize: number };
  /** the replay's rows by `${stream} ${userId} ${challengeId}`, for the events in `keep` */
  kept: Map<string, HistoryRow>;
}

async function limitRun(stack: Stack, keep: ReadonlySet<string>): Promise<LimitRun> {
  const started = performance.now();
  const phases = { load: 0, replay: 0, write: 0, finalize: 0 };
  let t = performance.now();
  const catalog = await loadCatalog(stack.dbs.challenges);
  phases.load += elapsed(t);
  const done: Array<{ stream: Stream; loaded: LoadedStream; rows: HistoryRow[]; touched: number[]; events: number }> = [];
  for (const stream of STREAMS) {
    t = performance.now();
    const loaded = await loadStream(stack.dbs, catalog, stream, stack.config.ratingMissingMetadata);
    phases.load += elapsed(t);
    t = performance.now();
    const tail = eventsFrom(loaded.events, undefined) ?? [];
    const r = rerateStream(tail, loaded.stored, loaded.rowless);
    phases.replay += elapsed(t);
    done.push({ stream, loaded, rows: r.rows, touched: [...r.states.keys()].map(Number), events: tail.length });
  }
  t = performance.now();
  const written = await stack.dbs.members.transaction().execute(async (tx) => {
    let n = 0;
    for (const d of done) n += await writeRerateRows(tx, catalog, d.stream, d.rows, d.loaded.challenges);
    return n;
  });
  phases.write = elapsed(t);
  t = performance.now();
  for (const d of done) await finalizeRerate(stack.dbs.members, catalog, d.stream, d.touched);
  phases.finalize = elapsed(t);
  const seconds = elapsed(started);

  const kept = new Map<string, HistoryRow>();
  for (const d of done)
    for (const row of d.rows) if (keep.has(`${d.stream} ${row.challengeId}`)) kept.set(`${d.stream} ${row.userId} ${row.challengeId}`, row);
  return {
    seconds,
    events: done.reduce((n, d) => n + d.events, 0),
    rows: done.reduce((n, d) => n + d.rows.length, 0),
    written,
    phases,
    kept,
  };
}

// --- (a) orchestrated ---

/** Where a workflow run spent its time, from its event history (server timestamps). */
interface WorkflowProfile {
  workflowMs: number;
  /** workflow tasks: how many, and their time from scheduled to completed, summed */
  workflowTasks: { count: number; ms: number };
  activities: Record<string, { count: number; runMs: number; queueMs: number; spanMs: number; maxMs: number; medianMs: number }>;
}

const tsMs = (ts: { seconds?: { toString(): string } | number | null; nanos?: number | null } | null | undefined) =>
  ts ? Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6) : 0;

function profileOf(history: proto.api.history.v1.IHistory): WorkflowProfile {
  const T = proto.api.enums.v1.EventType;
  const byScheduled = new Map<string, { type: string; scheduled: number; started?: number; completed?: number }>();
  let wfStart = 0;
  let wfEnd = 0;
  const wfTaskScheduled = new Map<string, number>();
  const workflowTasks = { count: 0, ms: 0 };
  for (const e of history.events ?? []) {
    const at = tsMs(e.eventTime);
    const id = String(e.eventId);
    switch (e.eventType) {
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        wfStart = at;
        break;
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
        wfEnd = at;
        break;
      case T.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
        wfTaskScheduled.set(id, at);
        break;
      case T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: {
        const scheduled = wfTaskScheduled.get(String(e.workflowTaskCompletedEventAttributes?.scheduledEventId));
        workflowTasks.count++;
        if (scheduled !== undefined) workflowTasks.ms += at - scheduled;
        break;
      }
      case T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        byScheduled.set(id, { type: e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?', scheduled: at });
        break;
      case T.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
        const a = byScheduled.get(String(e.activityTaskStartedEventAttributes?.scheduledEventId));
        if (a) a.started = at;
        break;
      }
      case T.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
        const a = byScheduled.get(String(e.activityTaskCompletedEventAttributes?.scheduledEventId));
        if (a) a.completed = at;
        break;
      }
    }
  }
  const activities: WorkflowProfile['activities'] = {};
  const groups = new Map<string, Array<{ scheduled: number; started: number; completed: number }>>();
  for (const a of byScheduled.values()) {
    if (a.started === undefined || a.completed === undefined) continue;
    const g = groups.get(a.type) ?? [];
    g.push({ scheduled: a.scheduled, started: a.started, completed: a.completed });
    groups.set(a.type, g);
  }
  for (const [type, g] of groups) {
    const runs = g.map((x) => x.completed - x.started).sort((a, b) => a - b);
    activities[type] = {
      count: g.length,
      runMs: runs.reduce((s, x) => s + x, 0),
      queueMs: g.reduce((s, x) => s + (x.started - x.scheduled), 0),
      spanMs: Math.max(...g.map((x) => x.completed)) - Math.min(...g.map((x) => x.scheduled)),
      maxMs: runs[runs.length - 1]!,
      medianMs: runs[Math.floor(runs.length / 2)]!,
    };
  }
  return { workflowMs: wfEnd - wfStart, workflowTasks, activities };
}

interface OrchestratedRun {
  seconds: number;
  events: number;
  streams: Record<Stream, { seconds: number; result: RerateResult; profile: WorkflowProfile }>;
}

async function orchestratedRun(stack: Stack): Promise<OrchestratedRun> {
  const taskQueue = `bench-rerate-${process.pid}`;
  const worker = await runWorker(stack, { taskQueue });
  const runs: Array<{ stream: Stream; seconds: number; result: RerateResult; fetch: () => Promise<proto.api.history.v1.IHistory> }> = [];
  let seconds: number;
  try {
    const started = performance.now();
    for (const stream of STREAMS) {
      const t = performance.now();
      const h = await stack.client!.workflow.start(Rerate, {
        taskQueue,
        workflowId: `bench/rerate/${stream}/${Date.now()}`,
        args: [{ options: { stream, throttle: { enabled: false } } }],
      });
      const result = await h.result();
      runs.push({ stream, seconds: elapsed(t), result, fetch: () => h.fetchHistory() });
    }
    seconds = elapsed(started);
  } finally {
    await worker.stop();
  }
  const streams = {} as OrchestratedRun['streams'];
  for (const r of runs) streams[r.stream] = { seconds: r.seconds, result: r.result, profile: profileOf(await r.fetch()) };
  return { seconds, events: runs.reduce((n, r) => n + r.result.plan.events, 0), streams };
}

// --- (c) naive ---

interface NaiveRun {
  sampledEvents: number;
  sampleSeconds: number;
  rows: number;
  /** the naive rows against the replay seeded as the naive shape seeds (reference.ts): must all agree */
  asSeeded: Agreement;
  /** the naive rows against the stream rerate's (the limit's) for the same events */
  asReplayed: Agreement;
  /** participants of the sampled events without a member row (no history rows: seeded from rows, they start new) */
  rowless: number;
}

interface Agreement {
  compared: number;
  differing: number;
  example?: string;
}

const FIELDS = ['oldRating', 'newRating', 'oldVolatility', 'newVolatility', 'placement', 'percentile'] as const;

function agreement(got: ReadonlyMap<string, HistoryRow>, want: ReadonlyMap<string, HistoryRow>): Agreement {
  let differing = 0;
  let example: string | undefined;
  for (const [key, row] of got) {
    const w = want.get(key);
    if (w !== undefined && FIELDS.every((f) => row[f] === w[f])) continue;
    differing++;
    example ??= `${key}: naive ${JSON.stringify(FIELDS.map((f) => row[f]))} vs ${w ? JSON.stringify(FIELDS.map((f) => w[f])) : 'none'}`;
  }
  return { compared: got.size, differing, example };
}

async function naiveRun(
  stack: Stack,
  catalog: Awaited<ReturnType<typeof loadCatalog>>,
  streams: ReadonlyMap<Stream, NaiveStream>,
  samples: ReadonlyMap<Stream, string[]>,
  loaded: ReadonlyMap<Stream, LoadedStream>,
  limitRows: ReadonlyMap<string, HistoryRow>,
): Promise<NaiveRun> {
  const taskQueue = `bench-rerate-naive-${process.pid}`;
  const computed = new Map<string, HistoryRow>();
  const connection = await NativeConnection.connect({ address: stack.temporal!.address });
  const worker = await Worker.create({
    connection,
    namespace: stack.config.temporal.namespace,
    taskQueue,
    workflowsPath: join(__dirname, 'rerate', 'naive-workflow.ts'),
    activities: naiveActivities({
      dbs: stack.dbs,
      catalog,
      streams,
      onRows: (stream, rows) => {
        for (const row of rows) computed.set(`${stream} ${row.userId} ${row.challengeId}`, row);
      },
    }),
  });
  const running = worker.run();
  let sampleSeconds = 0;
  let sampledEvents = 0;
  let rows = 0;
  try {
    for (const stream of STREAMS) {
      const challengeIds = samples.get(stream)!;
      const started = performance.now();
      const r = await stack.client!.workflow.execute<typeof naiveRerate>('naiveRerate', {
        taskQueue,
        workflowId: `bench/rerate-naive/${stream}/${Date.now()}`,
        args: [{ stream, challengeIds }],
      });
      sampleSeconds += elapsed(started);
      sampledEvents += r.events;
      rows += r.rows;
    }
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
  }
  const participants = [...new Set([...computed.keys()].map((k) => k.split(' ')[1]!))];
  const present = await sql<{ id: string }>`
    SELECT "userId"::text AS id FROM members."member" WHERE "userId" = ANY(${participants.map(Number)}::bigint[])`.execute(
    stack.dbs.members,
  );
  const have = new Set(present.rows.map((r) => r.id));
  const rowless = new Set(participants.filter((id) => !have.has(id)));
  const reference = new Map<string, HistoryRow>();
  for (const stream of STREAMS) {
    const ids = new Set(samples.get(stream)!);
    const l = loaded.get(stream)!;
    const events = l.events.filter((e) => ids.has(e.challengeId));
    for (const row of replaySeededFromRows(events, l.stored, rowless)) reference.set(`${stream} ${row.userId} ${row.challengeId}`, row);
  }
  return {
    sampledEvents,
    sampleSeconds,
    rows,
    asSeeded: agreement(computed, reference),
    asReplayed: agreement(computed, limitRows),
    rowless: rowless.size,
  };
}

// --- the bench ---

export async function benchRerate(opts: { size: SeedSize; json: boolean; naiveSample: number }): Promise<void> {
  const base = await openBenchStack(opts.size, { temporal: false });
  let own: Awaited<ReturnType<typeof ownTemporal>> | undefined;
  let snapshotTaken = false;
  /** a run may have changed the tables since the last restore (a failed bench puts them back too) */
  let dirty = false;
  try {
    await ensureAlone(base);
    await ensureBackfilled(base);
    const db = base.dbs.members;
    const catalog = await loadCatalog(base.dbs.challenges);

    // untimed: the event lists (the naive shape's, loaded once) — also warms the caches every run reads through
    const loaded = new Map<Stream, LoadedStream>();
    for (const stream of STREAMS) loaded.set(stream, await loadStream(base.dbs, catalog, stream, base.config.ratingMissingMetadata));
    const counts = Object.fromEntries(STREAMS.map((s) => [s, loaded.get(s)!.events.length])) as Record<Stream, number>;
    const totalEvents = counts.develop + counts.marathon;
    const samples = new Map(
      STREAMS.map((s) => [s, (eventsFrom(loaded.get(s)!.events, undefined) ?? []).slice(0, opts.naiveSample).map((e) => e.challengeId)]),
    );
    const keep = new Set(STREAMS.flatMap((s) => samples.get(s)!.map((id) => `${s} ${id}`)));

    const snap = await snapshot(db, catalog);
    snapshotTaken = true;
    stderrLog(
      `${opts.size}: ${counts.develop} Development + ${counts.marathon} Marathon Match events; snapshot of ${snap.history} history, ${snap.stats} stats, ${snap.maxRating} memberMaxRating rows`,
    );
    own = await ownTemporal(base);
    const client = new Client({ connection: own.temporal.connection, namespace: base.config.temporal.namespace });
    const stack: Stack = { ...base, temporal: own.temporal, client };

    await restore(db, catalog);
    const before = await digest(db, catalog);

    stderrLog(`(b) limit: both streams replayed in memory, one bulk write, finalize`);
    dirty = true;
    const limit = await limitRun(stack, keep);
    const limitDigest = await digest(db, catalog);

    await restore(db, catalog);
    stderrLog(`(a) orchestrated: the rerate workflow per stream (default chunking and concurrency, throttling off)`);
    const orch = await orchestratedRun(stack);
    const orchDigest = await digest(db, catalog);

    await restore(db, catalog);
    stderrLog(`(c) naive: one child workflow per challenge in sequence, first ${opts.naiveSample} challenges of each stream`);
    const naive = await naiveRun(
      stack,
      catalog,
      new Map(STREAMS.map((s) => [s, naiveStream(catalog, s, loaded.get(s)!)])),
      samples,
      loaded,
      limit.kept,
    );

    await restore(db, catalog);
    dirty = false;
    const after = await digest(db, catalog);

    const identical = sameDigest(orchDigest, limitDigest);
    const restored = sameDigest(before, after);
    if (orch.events !== totalEvents || limit.events !== totalEvents)
      throw new Error(`event counts disagree: orchestrated ${orch.events}, limit ${limit.events}, loaded ${totalEvents}`);
    const naiveEventsPerSec = naive.sampledEvents / naive.sampleSeconds;
    const out = {
      orchestrated: { eventsPerSec: totalEvents / orch.seconds, seconds: orch.seconds },
      limit: { eventsPerSec: totalEvents / limit.seconds, seconds: limit.seconds },
      naive: { eventsPerSec: naiveEventsPerSec, seconds: totalEvents / naiveEventsPerSec },
      ratioToLimit: 0,
      speedupOverNaive: 0,
    };
    out.ratioToLimit = out.orchestrated.eventsPerSec / out.limit.eventsPerSec;
    out.speedupOverNaive = out.orchestrated.eventsPerSec / out.naive.eventsPerSec;
    if (!identical || !restored) process.exitCode = 1;

    if (opts.json) {
      process.stdout.write(`${JSON.stringify(out)}\n`);
    } else {
      printReport({
        opts,
        counts,
        totalEvents,
        out,
        orch,
        limit,
        naive,
        digests: { before, limit: limitDigest, orchestrated: orchDigest, after },
      });
    }
    if (!identical) stderrLog('BUG: the orchestrated rerate and the limit left different tables (digests above differ)');
    if (naive.asSeeded.differing > 0)
      stderrLog('the naive shape computed other rows than the replay seeded as it seeds: the naive figure is not of the same rerate');
    if (!restored) stderrLog('the snapshot did not restore the tables as they were (digest before ≠ after)');
  } finally {
    if (snapshotTaken) {
      if (dirty)
        await restore(base.dbs.members, await loadCatalog(base.dbs.challenges)).catch((e: Error) => stderrLog(`restoring: ${e.message}`));
      await dropSnapshot(base.dbs.members).catch((e: Error) => stderrLog(`dropping the snapshot: ${e.message}`));
    }
    await own?.cleanup().catch((e: Error) => stderrLog(`stopping Temporal: ${e.message}`));
    await base.close();
  }
}

function printReport(r: {
  opts: { size: SeedSize; naiveSample: number };
  counts: Record<Stream, number>;
  totalEvents: number;
  out: {
    orchestrated: { eventsPerSec: number; seconds: number };
    limit: { eventsPerSec: number; seconds: number };
    naive: { eventsPerSec: number; seconds: number };
    ratioToLimit: number;
    speedupOverNaive: number;
  };
  orch: OrchestratedRun;
  limit: LimitRun;
  naive: NaiveRun;
  digests: { before: Digest; limit: Digest; orchestrated: Digest; after: Digest };
}): void {
  const { out, orch, limit, naive } = r;
  const f = (x: number) => x.toFixed(0).padStart(8);
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const agree = (a: Agreement) =>
    `${a.compared - a.differing}/${a.compared} identical${a.example ? ` (first difference ${a.example})` : ''}`;
  const lines = [
    `rerate bench (${r.opts.size}: ${r.totalEvents} events — ${r.counts.develop} Development, ${r.counts.marathon} Marathon Match; ${limit.rows} rows; load average ${loadavg()[0]!.toFixed(1)} at the end on ${cpus().length} cores)`,
    `  orchestrated ${f(out.orchestrated.eventsPerSec)} events/s  (${orch.seconds.toFixed(1)} s: ${STREAMS.map((st) => `${st} ${orch.streams[st].seconds.toFixed(1)} s, ${orch.streams[st].result.plan.chunks} chunks`).join('; ')})`,
    `  limit        ${f(out.limit.eventsPerSec)} events/s  (${limit.seconds.toFixed(1)} s: load ${limit.phases.load.toFixed(1)}, replay ${limit.phases.replay.toFixed(1)}, one write ${limit.phases.write.toFixed(1)}, finalize ${limit.phases.finalize.toFixed(1)})`,
    `  naive        ${f(out.naive.eventsPerSec)} events/s  (${out.naive.seconds.toFixed(1)} s extrapolated; ${naive.sampleSeconds.toFixed(1)} s for ${naive.sampledEvents} events, one child per challenge)`,
    `  ratioToLimit ${out.ratioToLimit.toFixed(2)} (goal ≥ ${GOAL_RATIO.toFixed(2)}: ${out.ratioToLimit >= GOAL_RATIO ? 'met' : 'NOT met'})`,
    `  speedupOverNaive ${out.speedupOverNaive.toFixed(1)}× (goal ≥ ${GOAL_SPEEDUP}: ${out.speedupOverNaive >= GOAL_SPEEDUP ? 'met' : 'NOT met'})`,
    `  tables after (a) and (b): ${sameDigest(r.digests.orchestrated, r.digests.limit) ? 'identical' : 'DIFFERENT'}`,
    `    (a) ${showDigest(r.digests.orchestrated)}`,
    `    (b) ${showDigest(r.digests.limit)}`,
    `    start ${showDigest(r.digests.before)}${sameDigest(r.digests.before, r.digests.after) ? ' (restored at the end)' : ' — NOT restored at the end'}`,
    `  naive rows vs the replay seeded as it seeds (participants without a member row new at each event): ${agree(naive.asSeeded)}`,
    `  naive rows vs the stream rerate's rows: ${agree(naive.asReplayed)}; ${naive.rowless} sampled participant(s) without a member row`,
    `  orchestrated profile (workflow history):`,
  ];
  for (const st of STREAMS) {
    const p = orch.streams[st].profile;
    const a = (name: string) => p.activities[name];
    const prep = a('reratePrepare');
    const chunk = a('rerateChunk');
    const fin = a('rerateFinalize');
    const ev = a('storeEvidence');
    const accounted = (prep?.spanMs ?? 0) + (chunk?.spanMs ?? 0) + (fin?.spanMs ?? 0) + (ev?.spanMs ?? 0);
    lines.push(
      `    ${st.padEnd(9)} workflow ${s(p.workflowMs)}: prepare ${s(prep?.runMs ?? 0)}; ${chunk?.count ?? 0} chunks ${s(chunk?.spanMs ?? 0)} wall (${s(chunk?.runMs ?? 0)} summed, median ${s(chunk?.medianMs ?? 0)}, max ${s(chunk?.maxMs ?? 0)}, queued ${s(chunk?.queueMs ?? 0)}); finalize ${s(fin?.runMs ?? 0)}; evidence ${s(ev?.runMs ?? 0)}; outside activities ${s(p.workflowMs - accounted)} (${p.workflowTasks.count} workflow tasks, ${s(p.workflowTasks.ms)})`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}
