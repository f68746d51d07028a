import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rerate, RerateChallenge, RerateMember, rerateProgress } from '../workflows/rerate/messages';
import type { RerateInput } from '../workflows/rerate/workflow';
import { runTestBackfill } from './support/backfill';
import { failureText } from './support/failure';
import { seededStack } from './support/stack';

let seq = 0;
/** Phase D's stream rerate as a workflow on the real dev server and Postgres (tiny seed, backfilled). */
describe('rerate workflow', () => {
  let env: Awaited<ReturnType<typeof seededStack>>;
  beforeAll(async () => {
    env = await seededStack('rerate_wf', { size: 'tiny', seed: 17 });
    await runTestBackfill(env.stack.client!, env.taskQueue, {});
  });
  afterAll(async () => {
    await env?.close();
  });
  const start = (options: RerateInput['options']) =>
    env.stack.client!.workflow.start(Rerate, {
      taskQueue: env.taskQueue,
      workflowId: `test/rerate/${process.pid}/${Date.now()}/${seq++}`,
      args: [{ options: { chunkEvents: 5, ...options }, heartbeatSeconds: 5 }],
    });

  for (const stream of ['develop', 'marathon'] as const) {
    it(`${stream}: the whole stream in chunks, with evidence; the same rerate again writes nothing`, async () => {
      const h = await start({ stream });
      const r = await h.result();
      expect(r.plan.events).toBeGreaterThan(5);
      expect(r.plan.chunks).toBe(Math.ceil(r.plan.events / 5));
      expect(r.chunks.rows).toBe(r.plan.rows);
      expect(r.chunks.written).toBeGreaterThan(0);
      const p = await h.query(rerateProgress);
      expect(p).toMatchObject({ state: 'done', eventsDone: r.plan.events, chunksDone: r.plan.chunks, stream });
      const ev = await sql<{ kind: string; passed: boolean; stream: string }>`
        SELECT kind, passed, result->>'stream' AS stream FROM platform.evidence WHERE id = ${r.evidenceId}`.execute(env.stack.dbs.members);
      expect(ev.rows[0]).toEqual({ kind: 'rerate', passed: true, stream });
      const again = await (await start({ stream })).result();
      expect({ written: again.chunks.written, stats: again.final.statsChanged }).toEqual({ written: 0, stats: 0 });
    });
  }

  it('--from an unknown challenge, or one outside the stream, stops before any write naming it', async () => {
    const unknown = await (
      await start({ stream: 'develop', from: '00000000-0000-0000-0000-000000000000' })
    )
      .result()
      .catch((e: unknown) => e);
    expect(failureText(unknown)).toMatch(/--from 00000000-0000-0000-0000-000000000000: no such challenge/);
    const mm = await sql<{ id: string }>`
      SELECT c.id::text AS id FROM challenges."Challenge" c JOIN challenges."ChallengeType" t ON t.id = c."typeId"
      WHERE t.name = 'Marathon Match' AND c.status = 'COMPLETED' LIMIT 1`.execute(env.stack.dbs.challenges);
    const outside = await (await start({ stream: 'develop', from: mm.rows[0]!.id })).result().catch((e: unknown) => e);
    expect(failureText(outside)).toMatch(/is not a rated event of the develop stream/);
  });

  /** History rows of the members not in `userIds` (content only): what a member's rerate must leave alone. */
  const othersDigest = async (userIds: number[]) =>
    (
      await sql<{ d: string }>`
        SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY t::text), '')) AS d FROM (
          SELECT "userId", "challengeId", "oldRating", "newRating", "oldVolatility", "newVolatility", placement, percentile
          FROM members."memberStatsHistory" WHERE NOT ("userId" = ANY(${userIds}::bigint[]))) t`.execute(env.stack.dbs.members)
    ).rows[0]!.d;

  it('rerateMember: one member from the stream’s start, only their rows written, challengesRerated = max(processed − 1, 0), on record', async () => {
    const m = await sql<{ userId: number; n: number }>`
      SELECT h."userId", count(*)::int AS n FROM members."memberStatsHistory" h
      JOIN challenges."ChallengeType" t ON t.id = h."typeId" WHERE t.name = 'Challenge' AND h."newRating" IS NOT NULL
      GROUP BY 1 HAVING count(*) >= 3 ORDER BY 2 DESC, 1 LIMIT 1`.execute(env.stack.dbs.members);
    const userId = m.rows[0]!.userId;
    const before = await othersDigest([userId]);
    const h = await env.stack.client!.workflow.start(RerateMember, {
      taskQueue: env.taskQueue,
      workflowId: `test/rerate-member/${process.pid}/${seq++}`,
      args: [{ stream: 'develop', userId }],
    });
    const r = await h.result();
    expect(r.rows).toBeGreaterThanOrEqual(3);
    expect(r.challengesRerated).toBe(r.rows - 1);
    expect(await othersDigest([userId])).toBe(before);
    const ev = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM platform.evidence WHERE kind = 'rerate-member' AND "workflowId" = ${h.workflowId} AND passed`.execute(
      env.stack.dbs.members,
    );
    expect(ev.rows[0]!.n).toBe(1);
    const unknown = await env.stack
      .client!.workflow.execute(RerateMember, {
        taskQueue: env.taskQueue,
        workflowId: `test/rerate-member/${process.pid}/${seq++}`,
        args: [{ stream: 'develop', userId: 987654321 }],
      })
      .catch((e: unknown) => e);
    expect(failureText(unknown)).toMatch(/--user-id 987654321: no such member/);
  });

  it('rerateChallenge: every submitter of one challenge, one member child each; nobody else’s rows change', async () => {
    const challenge = await sql<{ challengeId: string }>`
      SELECT h."challengeId" FROM members."memberStatsHistory" h JOIN challenges."Challenge" c ON c.id::text = h."challengeId"
      JOIN challenges."ChallengeType" t ON t.id = h."typeId" WHERE t.name = 'Challenge' AND h."newRating" IS NOT NULL
      GROUP BY 1 HAVING count(*) >= 2 ORDER BY count(*) DESC, 1 LIMIT 1`.execute(env.stack.dbs.members);
    const challengeId = challenge.rows[0]!.challengeId;
    const r0 = await env.stack.client!.workflow.execute(RerateChallenge, {
      taskQueue: env.taskQueue,
      workflowId: `test/rerate-challenge/${process.pid}/${seq++}`,
      args: [{ stream: 'develop', challengeId }],
    });
    expect(r0.challengeId).toBe(challengeId);
    expect(r0.members.length).toBeGreaterThanOrEqual(2);
    const ids = r0.members.map((m) => m.userId);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const before = await othersDigest(ids);
    // the same again: every member is already where the first pass put them, nobody else moves
    const r1 = await env.stack.client!.workflow.execute(RerateChallenge, {
      taskQueue: env.taskQueue,
      workflowId: `test/rerate-challenge/${process.pid}/${seq++}`,
      args: [{ stream: 'develop', challengeId }],
    });
    expect(r1.members.map((m) => m.userId)).toEqual(ids);
    expect(await othersDigest(ids)).toBe(before);
  });
});
