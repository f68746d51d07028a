import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { refreshChallengeWorkflowId, type ChallengeRefreshResult } from '../../domain/refresh';
import { stderrLog, type Stack } from '../../lib/stack';
import { callEnded } from '../autopilot/http';
import type { SeedSize } from '../seed/index';
import { openBenchStack } from './bench-db';
import { cpuMeter, type CpuSplit } from './refresh/cpu';
import { directRefresher, type DirectTimes } from './refresh/direct';
import { figures, runStep, type CallOutcome, type Figures, type StepResult } from './refresh/driver';
import { profileRefreshes, profileSequencers, type RefreshProfile, type SequencerProfile } from './refresh/profile';
import { clearRefreshState, forgetSeed, startRefreshStack, type RefreshBenchStack } from './refresh/stack';
import { ensureAlone, ensureBackfilled } from './rerate/state';

/**
 * Phase E speed (issue 11 item 9): the autopilot's trigger path under load, against the same refresh without
 * Temporal, in one run on the bench database (backfilled). For each rate (challenges ended per second), then
 * once as fast as the callers go (`max`): the platform ends challenges one at a time (timed apart) and
 * `concurrency` callers take them in end order —
 * - temporal: POST /members/stats/challenges/:id/ended with autopilot's token on the member stats API (auth,
 *   the refreshChallenge workflow on an in-process worker, the stream's sequencer), the route answering 200 when the
 *   stats are updated within REFRESH_WAIT_MS, else 202 (counted as not done; its latency runs to the workflow's
 *   result);
 * - direct: the same functions in process, no Temporal (refresh/direct.ts), on other freshly ended challenges.
 * Per step also the CPU each path cost per challenge (refresh/cpu.ts: this process, Temporal's server, Postgres —
 * steadier than wall time on a shared machine) and where the time went (refresh/profile.ts, the direct path's own
 * timings). The run ends challenges for real: the next bench on cutover_bench seeds it again.
 * Goal: p99 < 1 s at the goal rate with 10 callers, ≥ 20 challenges/s sustained, Temporal's p50 and throughput
 * within 2× the direct path's.
 */

export interface RefreshBenchOptions {
  size: SeedSize;
  json: boolean;
  rates: number[];
  /** seconds each rate step offers challenges for (count = rate × seconds) */
  stepSeconds: number;
  /** challenges of the `max` step */
  maxCount: number;
  concurrency: number;
  seed: number;
}

const GOAL = { p99Ms: 1000, perSec: 20, overhead: 2 } as const;
const round2 = (x: number) => Math.round(x * 100) / 100;

/** CPU seconds of a step (cpu.ts) and per challenge (ms) */
type Cpu = CpuSplit & { perChallengeMs: number };

interface Step {
  rate: number | null;
  temporal: StepResult;
  direct: StepResult;
  cpu: { temporal: Cpu; direct: Cpu };
  profile: { refreshes: RefreshProfile; sequencers: SequencerProfile };
  directTimes: {
    membersMs: Figures;
    ratingMs: Figures;
    evidenceMs: Figures;
    rateEndedMs: Figures;
    rerates: number;
    reratesMs: Figures;
    /** steps run again after a deadlock */
    retries: number;
  };
}

function temporalCaller(env: RefreshBenchStack, latencies: Map<string, number>) {
  return async (challengeId: string): Promise<CallOutcome> => {
    const t0 = performance.now();
    const r = await callEnded(env.api.url, env.token, challengeId, { timeoutMs: env.waitMs + 30_000 });
    const body = r.body as (ChallengeRefreshResult & { workflowId?: string }) | undefined;
    const workflowId = refreshChallengeWorkflowId(challengeId);
    if (r.status === 200 && body) {
      latencies.set(workflowId, r.latencyMs);
      return { done: true, status: 200, latencyMs: r.latencyMs, rated: body.rated !== null, rerate: body.rated?.rerateFrom !== undefined };
    }
    if (r.status === 202 && body?.workflowId) {
      try {
        const res = await env.stack.client!.workflow.getHandle<() => Promise<ChallengeRefreshResult>>(body.workflowId).result();
        const latencyMs = performance.now() - t0;
        latencies.set(workflowId, latencyMs);
        return { done: false, status: 202, latencyMs, rated: res.rated !== null, rerate: res.rated?.rerateFrom !== undefined };
      } catch (e) {
        return { done: false, status: 202, latencyMs: performance.now() - t0, rated: false, rerate: false, error: (e as Error).message };
      }
    }
    const why = r.error ?? `HTTP ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`;
    return { done: false, status: r.status, latencyMs: r.latencyMs, rated: false, rerate: false, error: why };
  };
}

function directCaller(direct: ReturnType<typeof directRefresher>, times: DirectTimes[]) {
  return async (challengeId: string): Promise<CallOutcome> => {
    const t0 = performance.now();
    try {
      const { result, times: t } = await direct.refresh(challengeId);
      times.push(t);
      const latencyMs = performance.now() - t0;
      return { done: true, status: 200, latencyMs, rated: result.rated !== null, rerate: result.rated?.rerateFrom !== undefined };
    } catch (e) {
      return { done: false, status: null, latencyMs: performance.now() - t0, rated: false, rerate: false, error: (e as Error).message };
    }
  };
}

export async function benchRefresh(opts: RefreshBenchOptions): Promise<void> {
  const base = await openBenchStack(opts.size, { temporal: false });
  let env: RefreshBenchStack | undefined;
  try {
    await ensureAlone(base);
    await clearRefreshState(base);
    await ensureBackfilled(base);
    env = await startRefreshStack(base);
    const direct = directRefresher(env.stack);
    const progress = (label: string) => (line: string) => stderrLog(`${label}: ${line}`);
    await forgetSeed(base);

    const step = async (
      path: 'temporal' | 'direct',
      rate: number | null,
      count: number,
      call: (id: string) => Promise<CallOutcome>,
      label = String(rate ?? 'max'),
    ) =>
      runStep({
        dbs: base.dbs,
        path,
        rate,
        count,
        label,
        concurrency: opts.concurrency,
        seed: opts.seed,
        call,
        progress: progress(`${path} ${rate ?? 'max'}`),
      });

    // warm-up (not reported): the workflow code, the sequencers, the pools and caches on both paths
    stderrLog('warm-up: 10 challenges on each path');
    await step('temporal', null, 10, temporalCaller(env, new Map()), 'warm-up');
    await step('direct', null, 10, directCaller(direct, []), 'warm-up');

    const steps: Step[] = [];
    for (const rate of [...opts.rates, null]) {
      const count = rate === null ? opts.maxCount : Math.max(10, Math.round(rate * opts.stepSeconds));
      stderrLog(`${rate === null ? 'as fast as the callers go' : `${rate}/s`}: ${count} challenges per path, ${opts.concurrency} callers`);
      const latencies = new Map<string, number>();
      await freshStats(base);
      const from = Date.now();
      let meter = await cpuMeter(base.dbs.members, env.temporalPid);
      const temporal = await step('temporal', rate, count, temporalCaller(env, latencies));
      const temporalCpu = perChallenge(await meter(), temporal.count);
      const to = Date.now();
      const seq = direct.stats;
      const before = { rateEnded: seq.rateEnded.length, rerates: seq.rerates.length, retries: seq.retries };
      const times: DirectTimes[] = [];
      await freshStats(base);
      meter = await cpuMeter(base.dbs.members, env.temporalPid);
      const d = await step('direct', rate, count, directCaller(direct, times));
      const directCpu = perChallenge(await meter(), d.count);
      const client = env.stack.client!;
      steps.push({
        rate,
        temporal,
        direct: d,
        cpu: { temporal: temporalCpu, direct: directCpu },
        profile: {
          refreshes: await profileRefreshes(client, latencies),
          sequencers: await profileSequencers(client, env.taskQueue, from, to),
        },
        directTimes: {
          membersMs: figures(times.map((t) => t.members)),
          ratingMs: figures(times.filter((t) => t.rating > 0).map((t) => t.rating)),
          evidenceMs: figures(times.map((t) => t.evidence)),
          rateEndedMs: figures(seq.rateEnded.slice(before.rateEnded)),
          rerates: seq.rerates.length - before.rerates,
          reratesMs: figures(seq.rerates.slice(before.rerates)),
          retries: seq.retries - before.retries,
        },
      });
    }

    const out = summarize(opts, steps);
    if (opts.json) process.stdout.write(`${JSON.stringify(out)}\n`);
    else printReport(opts, out, steps);
    if (steps.some((s) => s.temporal.failed + s.direct.failed > 0)) process.exitCode = 1;
  } finally {
    await env?.close();
    await base.close();
  }
}

/**
 * Untimed, before each path's step: planner statistics as autovacuum keeps them on a platform that has run a while.
 * Without it the ratings' rows, new since the backfill's ANALYZE, are estimated at one row and the refresh's
 * keep-rerated check (store/backfill/keep-rerated.ts) turns into a nested loop that grows with every rating —
 * the bench would measure that drift (reported apart), and later steps more than earlier ones.
 */
async function freshStats(stack: Stack): Promise<void> {
  await sql`ANALYZE members."memberStatsHistory", members."memberStats", members."memberMaxRating"`.execute(stack.dbs.members);
}

function perChallenge(c: CpuSplit, count: number): Cpu {
  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    self: r(c.self),
    temporal: r(c.temporal),
    postgres: r(c.postgres),
    perChallengeMs: Math.round(((c.self + c.temporal + c.postgres) / Math.max(count, 1)) * 1000),
  };
}

function summarize(opts: RefreshBenchOptions, steps: Step[]) {
  const rated = steps.filter((s) => s.rate !== null);
  // the goal's rate, else the highest rate below it
  const atGoal = rated.find((s) => s.rate === GOAL.perSec) ?? [...rated].reverse().find((s) => s.rate! < GOAL.perSec) ?? rated[0];
  const max = steps.find((s) => s.rate === null)!;
  const sustained = Math.max(...steps.map((s) => s.temporal.challengesPerSec));
  const directSustained = Math.max(...steps.map((s) => s.direct.challengesPerSec));
  const overhead = {
    /** at the goal rate: Temporal's p50 over the direct path's */
    p50: atGoal ? round2(atGoal.temporal.latencyMs.p50 / atGoal.direct.latencyMs.p50) : null,
    p99: atGoal ? round2(atGoal.temporal.latencyMs.p99 / atGoal.direct.latencyMs.p99) : null,
    /** as fast as the callers go: the direct path's challenges/s over Temporal's */
    throughput: round2(max.direct.challengesPerSec / max.temporal.challengesPerSec),
  };
  const p99 = atGoal?.temporal.latencyMs.p99 ?? max.temporal.latencyMs.p99;
  const goal = {
    p99Under1s: { at: atGoal?.rate ?? 'max', p99Ms: p99, met: p99 < GOAL.p99Ms && (atGoal?.temporal.notDone ?? 0) === 0 },
    sustained20PerSec: { perSec: sustained, met: sustained >= GOAL.perSec },
    overheadAtMost2x: {
      p50: overhead.p50,
      throughput: overhead.throughput,
      met: (overhead.p50 ?? Infinity) <= GOAL.overhead && overhead.throughput <= GOAL.overhead,
    },
  };
  return {
    size: opts.size,
    concurrency: opts.concurrency,
    steps: steps.map((s) => ({
      rate: s.rate ?? 'max',
      temporal: s.temporal,
      direct: s.direct,
      cpu: s.cpu,
      profile: s.profile,
      directTimes: s.directTimes,
    })),
    temporal: { sustainedPerSec: sustained },
    direct: { sustainedPerSec: directSustained },
    temporalOverhead: overhead,
    /** CPU per challenge on the `max` step (all of it: this process, Temporal's server, Postgres), and the
     * challenges/s that would keep every core of this machine busy and nothing else: a ceiling, not a measurement */
    cpuPerChallengeMs: { temporal: max.cpu.temporal.perChallengeMs, direct: max.cpu.direct.perChallengeMs },
    cpuBoundPerSec: {
      temporal: round2((cpus().length * 1000) / Math.max(max.cpu.temporal.perChallengeMs, 1)),
      direct: round2((cpus().length * 1000) / Math.max(max.cpu.direct.perChallengeMs, 1)),
    },
    goal: { ...goal, met: goal.p99Under1s.met && goal.sustained20PerSec.met && goal.overheadAtMost2x.met },
    loadAverage: round2(loadavg()[0]!),
    cores: cpus().length,
  };
}

function printReport(opts: RefreshBenchOptions, out: ReturnType<typeof summarize>, steps: Step[]): void {
  const f = (x: Figures) => `p50 ${x.p50.toFixed(0).padStart(5)} ms  p99 ${x.p99.toFixed(0).padStart(5)} ms`;
  const codes = (r: StepResult) =>
    Object.entries(r.statuses)
      .map(([k, v]) => `${k}:${v}`)
      .join(' ');
  const line = (name: string, r: StepResult) =>
    `    ${name.padEnd(8)} ${f(r.latencyMs)}  ${r.challengesPerSec.toFixed(1).padStart(5)}/s sustained  ` +
    `(${codes(r)}; not done ${r.notDone}; rated ${r.rated}, rerates ${r.rerates}; ending p50 ${r.ending.p50} ms at ${r.ending.perSec}/s; ` +
    `waited for a caller p99 ${r.queuedMs.p99} ms)`;
  const lines = [
    `refresh bench (${opts.size}, ${opts.concurrency} concurrent callers; load average ${loadavg()[0]!.toFixed(1)} at the end on ${cpus().length} cores)`,
  ];
  for (const s of steps) {
    lines.push(`  ${s.rate === null ? 'max' : `${s.rate}/s`} (${s.temporal.count} + ${s.direct.count} challenges)`);
    lines.push(line('temporal', s.temporal), line('direct', s.direct));
    for (const r of [s.temporal, s.direct]) if (r.firstError) lines.push(`      ${r.path}: ${r.failed} failed, the first: ${r.firstError}`);
    const c = (x: Cpu) => `${x.perChallengeMs} ms (this process ${x.self} s, Temporal server ${x.temporal} s, Postgres ${x.postgres} s)`;
    lines.push(`      CPU per challenge: temporal ${c(s.cpu.temporal)}; direct ${c(s.cpu.direct)}`);
    const p = s.profile.refreshes;
    const q = s.profile.sequencers;
    lines.push(
      `      temporal profile (median of ${p.workflows} workflows): workflow ${p.workflowMs.p50} ms = first task ${p.firstTaskMs.p50} + members queued ${p.membersQueuedMs.p50} ` +
        `+ run ${p.membersRunMs.p50} + hand-off ${p.handOffMs.p50} + rating wait ${p.ratingWaitMs.p50} + evidence ${p.evidenceMs.p50} + close ${p.closeMs.p50}; ` +
        `${p.workflowTasks.perWorkflow} workflow tasks of ${p.workflowTasks.msEach.p50} ms; HTTP/start/result overhead ${p.httpOverheadMs.p50} ms; ` +
        `${p.retried} activities retried${p.retryCause ? ` (${p.retryCause.slice(0, 60)})` : ''}; ` +
        `sequencers: ${q.rateEnded.count} rateEnded (p50 ${q.rateEnded.runMs.p50} ms, max ${q.rateEnded.runMs.max}, ${q.rateEnded.retried} retried), ${q.rerates.count} rerate children (p50 ${q.rerates.ms.p50} ms)`,
    );
    const d = s.directTimes;
    lines.push(
      `      direct profile: members p50 ${d.membersMs.p50} ms, rating p50 ${d.ratingMs.p50} ms (rateEnded p50 ${d.rateEndedMs.p50} ms; ${d.rerates} rerates, p50 ${d.reratesMs.p50} ms), evidence p50 ${d.evidenceMs.p50} ms; ${d.retries} steps retried after a deadlock`,
    );
  }
  const g = out.goal;
  const met = (b: boolean) => (b ? 'met' : 'NOT met');
  lines.push(
    `  temporalOverhead: p50 ${out.temporalOverhead.p50}× and p99 ${out.temporalOverhead.p99}× at ${g.p99Under1s.at}/s; throughput ${out.temporalOverhead.throughput}× (direct ${out.direct.sustainedPerSec}/s vs temporal ${out.temporal.sustainedPerSec}/s)`,
    `  CPU per challenge (max step): temporal ${out.cpuPerChallengeMs.temporal} ms, direct ${out.cpuPerChallengeMs.direct} ms — all ${cpus().length} cores busy with nothing else: ≈ ${out.cpuBoundPerSec.temporal}/s vs ${out.cpuBoundPerSec.direct}/s`,
    `  goal p99 < 1 s at ${g.p99Under1s.at}/s: ${g.p99Under1s.p99Ms} ms — ${met(g.p99Under1s.met)}`,
    `  goal ≥ ${GOAL.perSec} challenges/s sustained: ${g.sustained20PerSec.perSec}/s — ${met(g.sustained20PerSec.met)}`,
    `  goal Temporal overhead ≤ ${GOAL.overhead}×: p50 ${g.overheadAtMost2x.p50}×, throughput ${g.overheadAtMost2x.throughput}× — ${met(g.overheadAtMost2x.met)}`,
    `  goal: ${met(g.met)}`,
  );
  process.stdout.write(lines.join('\n') + '\n');
}
