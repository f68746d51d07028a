import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { bringUp } from '../lib/stack';
import { runSeed } from '../scripts/seed/index';
import { cli } from './support/cli';
import { createTestDatabase, testConfig } from './support/db';
import { uniqueTaskQueue } from './support/stack';

describe('operator CLI', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await createTestDatabase('cli');
    const stack = await bringUp({ config: testConfig(db.url), temporal: false, log: () => {} });
    await runSeed(stack.dbs, { size: 'tiny', seed: 3 });
    await stack.close();
    env = { DATABASE_URL: db.url, TEMPORAL_ADDRESS: inject('temporalAddress'), TASK_QUEUE: uniqueTaskQueue('cli') };
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('preflight --json prints the report only, exit 0; status --json shows its evidence', async () => {
    // the SDK logs at DEBUG while its worker (in this process) runs: JSON lines on stderr, never into the report
    const r = await cli(['preflight', '--json'], { ...env, TEMPORAL_SDK_LOG_LEVEL: 'DEBUG' });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    const lines = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // structured, with the workflow id and the runbook phase; an activity's task token is never written
    expect(lines).toContainEqual(expect.objectContaining({ workflowId: report.workflowId, phase: 'preflight', msg: 'Workflow started' }));
    expect(lines.some((l) => l.activityType === 'preflightDatabases' && l.phase === 'preflight')).toBe(true);
    expect(r.stderr).not.toContain('taskToken');
    expect(report.passed).toBe(true);
    expect(report.workflowId).toMatch(/^cutover\/preflight\//);
    const s = await cli(['status', '--json'], env);
    expect(s.code).toBe(0);
    const status = JSON.parse(s.stdout);
    expect(status.readSource).toBe('legacy');
    expect(status.parityGate).toMatchObject({ passed: false });
    expect(status.evidence.find((e: { kind: string }) => e.kind === 'preflight')?.workflowId).toBe(report.workflowId);
  });

  it('STATS_READ_SOURCE that differs from the stored read source is said loudly at start-up and by status, never silently ignored', async () => {
    const s = await cli(['status', '--json'], { ...env, STATS_READ_SOURCE: 'unified' });
    expect(s.code).toBe(0);
    expect(s.stderr).toMatch(/WARNING: STATS_READ_SOURCE=unified is set, but the stored read source is "legacy" and it wins/);
    const status = JSON.parse(s.stdout);
    expect(status.readSource).toBe('legacy');
    expect(status.readSourceWarning).toMatch(/switch --to unified/);
    const human = await cli(['status'], { ...env, STATS_READ_SOURCE: 'unified' });
    expect(human.stdout).toMatch(/WARNING: STATS_READ_SOURCE=unified/);
    const same = await cli(['status', '--json'], { ...env, STATS_READ_SOURCE: 'legacy' });
    expect(same.stderr).not.toMatch(/WARNING/);
    expect(JSON.parse(same.stdout).readSourceWarning).toBeUndefined();
  });

  it('a rollback to legacy works with the challenges database unusable (it never waits on the catalogue)', async () => {
    const empty = await createTestDatabase('cli_nochallenges');
    try {
      const r = await cli(['switch', '--to', 'legacy', '--reason', 'rollback drill', '--json'], { ...env, CHALLENGES_DB_URL: empty.url });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).switched.to).toBe('legacy');
    } finally {
      await empty.drop();
    }
  });

  it('bad configuration exits 2 naming the variable, nothing on stdout', async () => {
    const r = await cli(['status', '--json'], { ...env, TEMPORAL_ADDRESS: 'nope' });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/TEMPORAL_ADDRESS must be host:port/);
  });

  it('backfill --json runs phase A to the end and prints the summary only', async () => {
    const r = await cli(['backfill', '--json', '--batch-size', '60', '--concurrency', '2'], env);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.totals.members).toBeGreaterThan(150);
    expect(out.totals.batches).toBe(Math.ceil(out.totals.members / 60));
    expect(out.options).toMatchObject({ batchSize: 60, concurrency: 2 });
    expect(out.evidenceId).toBeGreaterThan(0);
  });

  it('rerate --stream marathon --json rerates the stream from its first event and prints the summary only', async () => {
    const r = await cli(['rerate', '--stream', 'marathon', '--chunk-events', '20', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.plan).toMatchObject({ stream: 'marathon', from: null, chunkEvents: 20 });
    expect(out.plan.events).toBeGreaterThan(0);
    expect(out.chunks.rows).toBe(out.plan.rows);
    expect(out.evidenceId).toBeGreaterThan(0);
  });

  it('rerate --user-id reruns one member (D1–D3) and prints its result', async () => {
    const stack = await bringUp({ config: testConfig(db.url), temporal: false, log: () => {} });
    const m = await sql<{ userId: number }>`
      SELECT h."userId" FROM members."memberStatsHistory" h JOIN challenges."ChallengeType" t ON t.id = h."typeId"
      WHERE t.name = 'Challenge' AND h."newRating" IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`
      .execute(stack.dbs.members)
      .finally(() => stack.close());
    const r = await cli(['rerate', '--stream', 'develop', '--user-id', String(m.rows[0]!.userId), '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ userId: m.rows[0]!.userId, stream: 'develop' });
    expect(out.challengesRerated).toBe(Math.max(out.rows - 1, 0));
  });

  it('an unknown command or flag exits 2', async () => {
    expect((await cli(['preflight', '--bogus'], env)).code).toBe(2);
    expect((await cli(['frobnicate'], env)).code).toBe(2);
  });
});
