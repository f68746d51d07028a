import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PreflightReport } from '../domain/preflight';
import type { Stack } from '../lib/stack';
import { preflightWorkflowId } from '../scripts/commands/preflight';
import { CutoverPhase, CutoverState } from '../domain/search-attributes';
import { createTestDatabase } from './support/db';
import { seededStack, withOtherStack } from './support/stack';
import { Preflight } from '../workflows/preflight/messages';

async function preflightOn(stack: Stack, taskQueue: string): Promise<PreflightReport & { workflowId: string }> {
  const workflowId = `${preflightWorkflowId()}-${Math.random().toString(36).slice(2, 8)}`;
  const report = await stack.client!.workflow.execute(Preflight, {
    taskQueue,
    workflowId,
    typedSearchAttributes: [{ key: CutoverPhase, value: 'preflight' }],
  });
  return { ...report, workflowId };
}

const check = (r: PreflightReport, name: string) => r.checks.find((c) => c.name === name);

describe('preflight workflow (real Temporal, real Postgres)', () => {
  let env: Awaited<ReturnType<typeof seededStack>>;
  let emptyReviews: Awaited<ReturnType<typeof createTestDatabase>>;
  let stack: Stack;
  let taskQueue: string;

  beforeAll(async () => {
    [env, emptyReviews] = await Promise.all([
      seededStack('preflight', { size: 'tiny', seed: 7 }),
      createTestDatabase('preflight_noreview'),
    ]);
    ({ stack, taskQueue } = env);
  });
  afterAll(async () => {
    await env?.close();
    await emptyReviews?.drop();
  });

  it('passes on seeded data, reports every check, and stores the report as evidence', async () => {
    const r = await preflightOn(stack, taskQueue);
    expect(r.passed).toBe(true);
    expect(r.checks.map((c) => c.name).sort()).toEqual(
      [
        'api:health',
        'challenges:legacy-types',
        'database:challenges',
        'database:members',
        'database:reviews',
        'legacy:sub-tracks',
        'read-source',
        'review:challengeResult',
      ].sort(),
    );
    expect(check(r, 'api:health')?.skipped).toBe(true);
    const ev = await sql<{ passed: boolean; result: PreflightReport }>`
      SELECT passed, result FROM platform.evidence WHERE kind = 'preflight' AND "workflowId" = ${r.workflowId}`.execute(stack.dbs.members);
    expect(ev.rows).toHaveLength(1);
    expect(ev.rows[0]?.passed).toBe(true);
    expect(ev.rows[0]?.result.checks).toHaveLength(8);
  });

  it('is listed by its search attributes, as the Web UI filters', async () => {
    const r = await preflightOn(stack, taskQueue);
    const query = `CutoverPhase = 'preflight' AND CutoverState = 'passed' AND WorkflowId = '${r.workflowId}'`;
    let found: string[] = [];
    for (let i = 0; i < 40 && found.length === 0; i++) {
      found = [];
      for await (const wf of stack.client!.workflow.list({ query })) found.push(wf.workflowId);
      if (found.length === 0) await new Promise((res) => setTimeout(res, 250));
    }
    expect(found).toEqual([r.workflowId]);
    const desc = await stack.client!.workflow.getHandle(r.workflowId).describe();
    expect(desc.typedSearchAttributes.get(CutoverState)).toBe('passed');
  });

  it('fails naming REVIEW_DB_URL when the review database has no challengeResult', async () => {
    await withOtherStack(env.db.url, { REVIEW_DB_URL: emptyReviews.url }, async (other, q) => {
      const r = await preflightOn(other, q);
      expect(r.passed).toBe(false);
      const c = check(r, 'review:challengeResult');
      expect(c?.passed).toBe(false);
      expect(c?.detail).toMatch(/REVIEW_DB_URL/);
      expect(c?.detail).toMatch(/Deploy the review migrations/);
      expect(check(r, 'database:reviews')?.passed).toBe(true);
      expect(check(r, 'challenges:legacy-types')?.passed).toBe(true);
    });
  });

  it('fails when a catalogue type the backfill maps to is missing, not only the four hidden legacy ones', async () => {
    await sql`UPDATE challenges."ChallengeType" SET name = 'F2F_RENAMED' WHERE name = 'First2Finish'`.execute(stack.dbs.challenges);
    try {
      const r = await preflightOn(stack, taskQueue);
      expect(r.passed).toBe(false);
      expect(check(r, 'challenges:legacy-types')?.detail).toMatch(/type First2Finish/);
    } finally {
      await sql`UPDATE challenges."ChallengeType" SET name = 'First2Finish' WHERE name = 'F2F_RENAMED'`.execute(stack.dbs.challenges);
    }
  });

  it('fails naming a legacy sub-track the mapping does not know (its rows could not be placed)', async () => {
    const m = (await sql<{ id: number }>`SELECT id FROM members."memberDevelopStats" ORDER BY id LIMIT 1`.execute(stack.dbs.members))
      .rows[0]!;
    await sql`
      INSERT INTO members."memberDevelopStatsItem" (id, "developStatsId", name, "subTrackId", challenges, wins)
      VALUES (999999, ${m.id}, 'MYSTERY_TRACK', 999, 3, 1)`.execute(stack.dbs.members);
    try {
      const r = await preflightOn(stack, taskQueue);
      expect(r.passed).toBe(false);
      expect(check(r, 'legacy:sub-tracks')?.detail).toMatch(/memberDevelopStatsItem\.MYSTERY_TRACK \(1 rows, 1 members\)/);
    } finally {
      await sql`DELETE FROM members."memberDevelopStatsItem" WHERE id = 999999`.execute(stack.dbs.members);
    }
  });

  it('fails when a hidden legacy type is not resolvable, naming it', async () => {
    await sql`UPDATE challenges."ChallengeType" SET name = 'CODE_RENAMED' WHERE name = 'CODE'`.execute(stack.dbs.challenges);
    try {
      const r = await preflightOn(stack, taskQueue);
      expect(r.passed).toBe(false);
      expect(check(r, 'challenges:legacy-types')?.detail).toMatch(/type CODE/);
    } finally {
      await sql`UPDATE challenges."ChallengeType" SET name = 'CODE' WHERE name = 'CODE_RENAMED'`.execute(stack.dbs.challenges);
    }
  });

  it('fails when reads are not on legacy', async () => {
    await sql`UPDATE platform."readSource" SET source = 'unified'`.execute(stack.dbs.members);
    try {
      const r = await preflightOn(stack, taskQueue);
      expect(r.passed).toBe(false);
      expect(check(r, 'read-source')?.detail).toMatch(/switch --to legacy/);
    } finally {
      await sql`UPDATE platform."readSource" SET source = 'legacy'`.execute(stack.dbs.members);
    }
  });

  it('checks API health when API_URL is set', async () => {
    await withOtherStack(env.db.url, { API_URL: 'http://127.0.0.1:9' }, async (other, q) => {
      const r = await preflightOn(other, q);
      const c = check(r, 'api:health');
      expect(c?.passed).toBe(false);
      expect(c?.detail).toMatch(/GET http:\/\/127\.0\.0\.1:9\/members\/health failed: .* \(API_URL of the worker\)$/);
    });
  });

  it('checks the API the command names, not the worker’s, and says whose it checked', async () => {
    // the worker here has no API_URL; the operator's command has one: that is the one checked (previously: skipped)
    const workflowId = `${preflightWorkflowId()}-${Math.random().toString(36).slice(2, 8)}`;
    const r = await stack.client!.workflow.execute(Preflight, { taskQueue, workflowId, args: [{ apiUrl: 'http://127.0.0.1:9' }] });
    const c = check(r, 'api:health');
    expect(c?.skipped).toBeUndefined();
    expect(c?.passed).toBe(false);
    expect(c?.detail).toMatch(/GET http:\/\/127\.0\.0\.1:9\/members\/health failed: .* \(API_URL of the command\)$/);
    // a bad URL is refused by the workflow before any check
    await expect(
      stack.client!.workflow.execute(Preflight, { taskQueue, workflowId: `${workflowId}-bad`, args: [{ apiUrl: 'localhost' }] }),
    ).rejects.toMatchObject({ cause: { message: expect.stringContaining('apiUrl must be an http(s) URL') } });
  });
});
