import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STEPS } from '../domain/cutover';
import { runLiveCutover } from '../scripts/commands/cutover-live';
import { runSeed } from '../scripts/seed/index';
import { createTestDatabase } from './support/db';
import { testStack, uniqueTaskQueue } from './support/stack';

/**
 * One whole cutover against the real stack — Postgres, the Temporal dev server, the member stats API — with the
 * autopilot ending challenges and calling the API during the whole run, as `npm start` does on the small seed.
 * What it must leave is checked in the tables, not in the workflow's own account.
 */
/** Prometheus text format → one entry per series (comments skipped). */
function parseMetrics(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(l);
      if (!m) throw new Error(`not a metrics line: ${l}`);
      const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]));
      return { name: m[1]!, labels, value: Number(m[3]) };
    });
}

describe('a whole cutover under autopilot traffic', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let stack: Awaited<ReturnType<typeof testStack>>;
  beforeAll(async () => {
    db = await createTestDatabase('cutover_e2e');
    stack = await testStack(db.url);
    await runSeed(stack.dbs, { size: 'tiny', seed: 77 });
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
  });

  it(
    'runs every phase with --auto-approve, every gate holds, reads end unified and the traffic was served',
    { timeout: 300_000 },
    async () => {
      const lines: string[] = [];
      let metrics = '';
      const { status, autopilot } = await runLiveCutover(stack, {
        plan: {
          name: `e2e-${process.pid}-${Date.now()}`,
          autoApprove: true,
          rollbackWindowSeconds: 5,
          checkEverySeconds: 2,
          refreshWaitSeconds: 60,
        },
        autopilotRate: 1,
        // challenge ids are the seed's: refresh workflow ids (refresh/challenge/<id>) must not meet another file's
        seed: 77,
        taskQueue: uniqueTaskQueue('cutover-e2e'),
        log: (m) => lines.push(m),
        // what Prometheus would scrape once the cutover is over (the API and its worker still up)
        beforeStop: async (apiUrl) => {
          metrics = await fetch(`${apiUrl}/metrics`).then((r) => r.text());
        },
      });
      // on failure, what an operator would look at first: the evidence on record and the autopilot's own account
      const onRecord = await sql<{ kind: string; n: number; passed: number; last: Date }>`
      SELECT kind, count(*)::int AS n, count(*) FILTER (WHERE passed)::int AS passed, max("createdAt") AS last
      FROM platform.evidence GROUP BY kind ORDER BY kind`.execute(stack.dbs.members);
      const context = [status.blockedReason ?? '', ...lines, JSON.stringify(autopilot), JSON.stringify(onRecord.rows)].join('\n');
      expect(status.state, context).toBe('done');
      expect(status.steps.map((s) => s.status)).toEqual(STEPS.map(() => 'done'));
      expect(status.gates.filter((g) => !g.holds)).toEqual([]);
      expect(autopilot.ended).toBeGreaterThan(0);

      const m = stack.dbs.members;
      const source = await sql<{ source: string }>`SELECT source FROM platform."readSource"`.execute(m);
      expect(source.rows[0]?.source).toBe('unified');
      // the audit of the switch names who approved it and why
      const audit = await sql<{ reason: string }>`
      SELECT reason FROM platform."readSourceAudit" WHERE "toSource" = 'unified' ORDER BY id DESC LIMIT 1`.execute(m);
      expect(audit.rows[0]?.reason).toMatch(/^cutover e2e-.*: phase C \(parity gate approved by cutover \(--auto-approve\): clean /);
      // every challenge the autopilot ended was refreshed, through the API with its client id
      const refreshed = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM autopilot."endedChallenge" e
      WHERE NOT EXISTS (SELECT 1 FROM platform."refreshLog" r WHERE r."challengeId" = e."challengeId"::uuid)`.execute(m);
      expect(refreshed.rows[0]?.n).toBe(0);
      const kinds = await sql<{ kind: string }>`SELECT DISTINCT kind FROM platform.evidence WHERE passed ORDER BY kind`.execute(m);
      expect(kinds.rows.map((r) => r.kind)).toEqual(
        expect.arrayContaining(['backfill', 'dedupe', 'flag-removal', 'parity', 'preflight', 'refresh', 'reports', 'rerate', 'switch']),
      );

      // /metrics after the cutover: ours (worker, API, state read at scrape time) and the SDK's worker metrics
      const series = parseMetrics(metrics);
      const value = (name: string, labels: Record<string, string> = {}) =>
        series
          .filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))
          .reduce((n, x) => n + x.value, 0);
      const history = await sql<{ n: number }>`SELECT count(*)::int AS n FROM members."memberStatsHistory"`.execute(m);
      expect(value('cutover_rows_written_total', { phase: 'backfill' })).toBeGreaterThan(0);
      expect(value('cutover_rows_written_total', { phase: 'backfill' })).toBeLessThanOrEqual(history.rows[0]!.n * 2);
      expect(value('cutover_rows_written_total', { phase: 'rerate' })).toBeGreaterThan(0);
      expect(value('cutover_activity_duration_seconds_count', { activity: 'backfillBatch', outcome: 'ok' })).toBeGreaterThan(0);
      expect(value('cutover_refresh_request_duration_seconds_count')).toBeGreaterThan(0);
      expect(value('cutover_read_source', { source: 'unified' })).toBe(1);
      expect(value('cutover_read_source', { source: 'legacy' })).toBe(0);
      expect(value('cutover_state', { cutover: status.name, state: 'done' })).toBe(1);
      expect(value('cutover_blocked_steps')).toBe(0);
      expect(series.filter((x) => x.name === 'cutover_gate_holds' && x.labels.cutover === status.name).map((x) => x.value)).toEqual(
        status.gates.map(() => 1),
      );
      expect(series.filter((x) => x.name === 'cutover_parity_differences').map((x) => x.labels.category)).toHaveLength(8);
      expect(value('cutover_parity_differences')).toBe(0);
      expect(series.some((x) => x.name === 'cutover_reconciler_behind_challenges')).toBe(true);
      expect(series.some((x) => x.name === 'cutover_reconciler_lag_seconds')).toBe(true);
      expect(metrics).toContain('# TYPE cutover_legacy_reads_total counter');
      expect(value('cutover_metrics_scrape_errors_total')).toBe(0);
      // the Temporal SDK's own worker metrics, relayed from the runtime's exporter
      expect(value('temporal_workflow_completed_total')).toBeGreaterThan(0);
    },
  );
});
