import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import { sql } from 'kysely';
import type { CutoverStatus } from '../../domain/cutover';
import { stderrLog } from '../../lib/stack';
import { runLiveCutover } from '../commands/cutover-live';
import type { SeedSize } from '../seed/index';
import { ensureTemplate, freshCopy } from './bench-db';

/**
 * A whole cutover of a seeded platform, phase by phase, under the same live traffic as `npm start` (autopilot at
 * 0.5 endings/s): preflight to flag removal with --auto-approve. Goal: the large seed (500,000 members) under 15
 * minutes on this 2-core machine. A cutover changes the database it runs on, so each run gets a fresh copy:
 * the seed is made once into a template database (cutover_bench_<size>_seed) and copied (CREATE DATABASE …
 * TEMPLATE, a file copy) into cutover_bench_cutover; the copy is not timed.
 */

const GOAL_SECONDS = 15 * 60;
const QUEUE_PREFIX = 'bench-cutover-';

export interface CutoverBench {
  size: SeedSize;
  members: number;
  plan: { batchSize: number | null; skipRerateInBackfill: boolean };
  state: string;
  gatesHolding: number;
  gates: number;
  phases: Array<{ step: string; status: string; seconds: number; share: number; summary: string }>;
  totalSeconds: number;
  goalSeconds: number;
  /** total / goal: ≤ 1 meets it */
  ratioToGoal: number;
  meetsGoal: boolean;
  seedSeconds: number | null;
  copySeconds: number;
  autopilot: {
    ended: number;
    requests: number;
    failed: number;
    responses: Record<string, number>;
    failures: Array<{ challengeId: string; status: number | null; error?: string }>;
  };
}

const seconds = (from?: string, to?: string) => (from && to ? (Date.parse(to) - Date.parse(from)) / 1000 : 0);

export function phasesOf(status: CutoverStatus, now = new Date().toISOString()): CutoverBench['phases'] {
  // a run that stopped blocked has no end: its share is of the time it ran
  const total = Math.max(seconds(status.startedAt, status.endedAt ?? now), 1e-9);
  return status.steps.map((s) => {
    const secs = seconds(s.startedAt, s.endedAt);
    return { step: s.step, status: s.status, seconds: secs, share: secs / total, summary: s.summary ?? s.skipReason ?? s.error ?? '' };
  });
}

export async function benchCutover(opts: {
  size: SeedSize;
  json: boolean;
  batchSize?: number;
  skipRerateInBackfill: boolean;
}): Promise<void> {
  const template = await ensureTemplate(opts.size);
  const { stack, copySeconds } = await freshCopy(template.name, 'cutover_bench_cutover');
  try {
    await endEarlierRuns(stack.client!);
    const members = await sql<{ n: number }>`SELECT count(*)::int AS n FROM members."member"`.execute(stack.dbs.members);
    stderrLog(
      `a whole cutover of ${opts.size} (${members.rows[0]!.n} members) under autopilot traffic; backfill batches of ${opts.batchSize ?? 'the default'}${opts.skipRerateInBackfill ? ', Development rated in phase D only (--skip-rerate-in-backfill)' : ''}`,
    );
    const { status, autopilot } = await runLiveCutover(stack, {
      plan: {
        name: `bench-${Date.now()}`,
        autoApprove: true,
        skipRerateInBackfill: opts.skipRerateInBackfill,
        ...(opts.batchSize === undefined ? {} : { batchSize: opts.batchSize }),
        rollbackWindowSeconds: 20,
        checkEverySeconds: 5,
        refreshWaitSeconds: 300,
      },
      autopilotRate: 0.5,
      // a queue of its own: a run killed midway leaves workflows on the dev server that must not reach this one's database
      taskQueue: `${QUEUE_PREFIX}${Date.now()}`,
      log: opts.json ? () => {} : stderrLog,
    });
    const totalSeconds = seconds(status.startedAt, status.endedAt ?? new Date().toISOString());
    const r: CutoverBench = {
      size: opts.size,
      members: members.rows[0]!.n,
      plan: { batchSize: opts.batchSize ?? null, skipRerateInBackfill: opts.skipRerateInBackfill },
      state: status.state,
      gatesHolding: status.gates.filter((g) => g.holds).length,
      gates: status.gates.length,
      phases: phasesOf(status),
      totalSeconds,
      goalSeconds: GOAL_SECONDS,
      ratioToGoal: totalSeconds / GOAL_SECONDS,
      meetsGoal: status.state === 'done' && totalSeconds <= GOAL_SECONDS,
      seedSeconds: template.seedSeconds,
      copySeconds,
      autopilot: {
        ended: autopilot.ended,
        requests: autopilot.requests,
        failed: autopilot.failed,
        responses: autopilot.responses,
        failures: autopilot.failures,
      },
    };
    process.stdout.write(opts.json ? `${JSON.stringify(r, null, 2)}\n` : format(r));
    if (status.state !== 'done') process.exitCode = 1;
  } finally {
    await stack.close();
  }
}

/**
 * Workflows an earlier bench run left running (it was stopped midway; the dev server keeps them): their task queues
 * have no worker, and autopilot ends the same challenges in every run (same seed), so this run's refresh calls would
 * join their refresh workflows (one per challenge id) instead of starting their own, and never be answered.
 */
async function endEarlierRuns(client: Client): Promise<void> {
  const stale: string[] = [];
  for await (const w of client.workflow.list({ query: `ExecutionStatus = 'Running'` }))
    if (w.taskQueue.startsWith(QUEUE_PREFIX)) stale.push(w.workflowId);
  for (const id of stale)
    await client.workflow
      .getHandle(id)
      .terminate('left running by an earlier bench run')
      .catch(() => undefined);
  if (stale.length > 0) stderrLog(`ended ${stale.length} workflows an earlier bench run left running`);
}

function format(r: CutoverBench): string {
  const w = Math.max(...r.phases.map((p) => p.step.length));
  return [
    `cutover bench: ${r.size} (${r.members} members; backfill batches of ${r.plan.batchSize ?? 'the default'}${r.plan.skipRerateInBackfill ? ', --skip-rerate-in-backfill' : ''}), autopilot ${r.autopilot.ended} endings / ${r.autopilot.requests} calls during the run (answers ${JSON.stringify(r.autopilot.responses)}, ${r.autopilot.failed} failed${r.autopilot.failures.length ? `, e.g. ${JSON.stringify(r.autopilot.failures[0])}` : ''})`,
    ...r.phases.map(
      (p) =>
        `  ${p.step.padEnd(w)}  ${p.status.padEnd(8)} ${p.seconds.toFixed(1).padStart(7)} s  ${(p.share * 100).toFixed(0).padStart(3)} %  ${p.summary.slice(0, 110)}`,
    ),
    `  ${'total'.padEnd(w)}  ${r.state.padEnd(8)} ${r.totalSeconds.toFixed(1).padStart(7)} s  (goal ${r.goalSeconds} s: ratio ${r.ratioToGoal.toFixed(2)}, ${r.meetsGoal ? 'meets it' : 'DOES NOT meet it'})`,
    `  gates holding ${r.gatesHolding}/${r.gates}; copy of the seeded template ${r.copySeconds.toFixed(1)} s${r.seedSeconds === null ? '' : `, seeding ${r.seedSeconds.toFixed(0)} s (once)`} (not timed)`,
    '',
  ].join('\n');
}
