import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReportsInput } from '../domain/reports';
import { Reports } from '../workflows/reports/messages';
import type { ReportsResult } from '../workflows/reports/workflow';
import { runTestBackfill } from './support/backfill';
import { failureText } from './support/failure';
import { seededStack } from './support/stack';

let seq = 0;
const SEED = 'phase-f';

/** Phase F on a backfilled tiny seed, real Temporal and Postgres; expectations read straight from the tables. */
describe('reports (phase F)', () => {
  let env: Awaited<ReturnType<typeof seededStack>>;
  const db = () => env.stack.dbs.members;
  const run = (input: ReportsInput) =>
    env.stack.client!.workflow.execute(Reports, {
      taskQueue: env.taskQueue,
      workflowId: `test/reports/${process.pid}/${Date.now()}/${seq++}`,
      args: [input],
    });
  let clean: ReportsResult;
  let ds: { trackId: string; typeId: string };

  /** Known members with a legacy Marathon Match rating, and that rating: from the legacy tables, not the code under test. */
  const legacyMarathon = async () =>
    new Map(
      (
        await sql<{ userId: number; rating: number }>`
          SELECT d."userId", s.rating FROM members."memberDataScienceStats" d
          JOIN members."memberMarathonStats" s ON s."dataScienceStatsId" = d.id
          JOIN members."member" m ON m."userId" = d."userId"
          WHERE s.rating IS NOT NULL`.execute(db())
      ).rows.map((r) => [r.userId, r.rating]),
    );
  const unifiedMarathon = async (ids: number[]) =>
    new Map(
      (
        await sql<{ userId: number; rating: number | null }>`
          SELECT "userId", rating FROM members."memberStats"
          WHERE "userId" = ANY(${ids}::bigint[]) AND "trackId" = ${ds.trackId}::uuid AND "typeId" = ${ds.typeId}::uuid`.execute(db())
      ).rows.map((r) => [r.userId, r.rating]),
    );
  const evidence = async (id: number) =>
    (
      await sql<{ kind: string; passed: boolean; result: ReportsResult }>`
        SELECT kind, passed, result FROM platform.evidence WHERE id = ${id}`.execute(db())
    ).rows[0]!;

  beforeAll(async () => {
    env = await seededStack('reports', { size: 'tiny', seed: 21 });
    await runTestBackfill(env.stack.client!, env.taskQueue, {});
    ds = (
      await sql<{ trackId: string; typeId: string }>`
        SELECT (SELECT id::text FROM challenges."ChallengeTrack" WHERE track = 'DATA_SCIENCE') AS "trackId",
               (SELECT id::text FROM challenges."ChallengeType" WHERE name = 'Marathon Match') AS "typeId"`.execute(
        env.stack.dbs.challenges,
      )
    ).rows[0]!;
    clean = await run({ samples: 25, seed: SEED });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('hold after a backfill: the sampled rated members keep their legacy ratings in unified; on record', async () => {
    const legacy = await legacyMarathon();
    const sampled = clean.sampled.marathon;
    expect(sampled).toHaveLength(Math.min(25, legacy.size));
    expect(sampled.every((id) => legacy.has(id))).toBe(true);
    const unified = await unifiedMarathon(sampled);
    expect(Object.fromEntries(unified)).toEqual(Object.fromEntries(sampled.map((id) => [id, legacy.get(id)])));

    expect(clean).toMatchObject({ passed: true, problems: [], seed: SEED, samples: 25 });
    expect(clean.reports['marathon-stats']).toMatchObject({
      rows: { unified: sampled.length, legacy: sampled.length },
      rated: sampled.length,
      compared: sampled.length,
      nulls: { count: 0 },
      mismatches: { count: 0 },
    });
    expect(clean.reports['recent-members']).toMatchObject({ rows: { unified: 25, legacy: 25 }, rated: 25, nulls: { count: 0 } });
    const ev = await evidence(clean.evidenceId);
    expect(ev).toMatchObject({ kind: 'reports', passed: true, result: { passed: true, sampled: clean.sampled } });
    const described = await env.stack.client!.workflow.getHandle(clean.workflowId, clean.runId).describe();
    expect(described.searchAttributes).toMatchObject({ CutoverPhase: ['reports'], CutoverState: ['passed'] });
    // the same seed draws the same members
    expect((await run({ samples: 25, seed: SEED })).sampled).toEqual(clean.sampled);
  });

  it("catch the trap: filtering unified rows by trackId = 'DATA_SCIENCE' finds nothing, and say so", async () => {
    const byName = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM members."memberStats" WHERE "trackId"::text = 'DATA_SCIENCE'`.execute(db());
    expect(byName.rows[0]!.n).toBe(0);
    expect(clean.trap).toMatchObject({ caught: true, naiveRows: 0, keyedRows: clean.sampled.marathon.length });
    expect(clean.trap.message).toContain(
      "filtering by trackId = 'DATA_SCIENCE' finds nothing: unified rows are keyed by catalogue ids; join the catalogue",
    );
    expect(clean.trap.message).toContain(ds.trackId);
  });

  it("fail when a sampled member's unified Marathon Match rating is lost, naming the member in the evidence", async () => {
    const victim = clean.sampled.marathon[3]!;
    const key = sql`"userId" = ${victim} AND "trackId" = ${ds.trackId}::uuid AND "typeId" = ${ds.typeId}::uuid`;
    const before = (await unifiedMarathon([victim])).get(victim)!;
    await sql`UPDATE members."memberStats" SET rating = NULL WHERE ${key}`.execute(db());
    try {
      const r = await run({ samples: 25, seed: SEED });
      expect(r.passed).toBe(false);
      expect(r.reports['marathon-stats'].nulls).toEqual({ count: 1, userIds: [victim] });
      expect(r.problems).toEqual([`marathon-stats: 1 rated member(s) without a unified rating: ${victim}`]);
      expect(await evidence(r.evidenceId)).toMatchObject({
        passed: false,
        result: { reports: { 'marathon-stats': { nulls: { userIds: [victim] } } } },
      });
    } finally {
      await sql`UPDATE members."memberStats" SET rating = ${before} WHERE ${key}`.execute(db());
    }
  });

  it('fail when memberMaxRating is gone for one member and disagrees with legacy for another, naming both', async () => {
    // members rated once in legacy (so their max is that rating), and never rated by us since: straight from the tables
    const once = await sql<{ userId: number; rating: number }>`
      WITH r AS (
        SELECT d."userId", i.rating FROM members."memberDevelopStats" d JOIN members."memberDevelopStatsItem" i ON i."developStatsId" = d.id WHERE i.rating IS NOT NULL
        UNION ALL SELECT d."userId", s.rating FROM members."memberDataScienceStats" d JOIN members."memberSrmStats" s ON s."dataScienceStatsId" = d.id WHERE s.rating IS NOT NULL
        UNION ALL SELECT d."userId", s.rating FROM members."memberDataScienceStats" d JOIN members."memberMarathonStats" s ON s."dataScienceStatsId" = d.id WHERE s.rating IS NOT NULL)
      SELECT "userId", min(rating) AS rating FROM r
      WHERE "userId" = ANY(${clean.sampled.rated}::bigint[])
        AND NOT EXISTS (SELECT 1 FROM members."memberStatsHistory" h WHERE h."userId" = r."userId" AND h."createdBy" LIKE 'rerate%')
      GROUP BY "userId" HAVING count(*) = 1 ORDER BY "userId" LIMIT 2`.execute(db());
    const [changed, gone] = once.rows;
    expect(gone).toBeDefined();
    const saved = await sql`SELECT * FROM members."memberMaxRating" WHERE "userId" = ${gone!.userId}`.execute(db());
    await sql`UPDATE members."memberMaxRating" SET rating = rating + 7 WHERE "userId" = ${changed!.userId}`.execute(db());
    await sql`DELETE FROM members."memberMaxRating" WHERE "userId" = ${gone!.userId}`.execute(db());
    try {
      const r = await run({ samples: 25, seed: SEED });
      const o = r.reports['recent-members'];
      expect(r.passed).toBe(false);
      expect(o.nulls).toEqual({ count: 1, userIds: [gone!.userId] });
      expect(o.mismatches.examples).toContainEqual({
        userId: changed!.userId,
        field: 'maxRating',
        legacy: changed!.rating,
        unified: changed!.rating + 7,
      });
      // (+7 may also cross a colour band: that member's ratingColor is then reported too)
      expect(r.problems.join('\n')).toMatch(
        new RegExp(`recent-members: \\d+ value\\(s\\) differ from legacy, e\\.g\\. member ${changed!.userId} `),
      );
    } finally {
      await sql`UPDATE members."memberMaxRating" SET rating = rating - 7 WHERE "userId" = ${changed!.userId}`.execute(db());
      await sql`INSERT INTO members."memberMaxRating" SELECT * FROM jsonb_populate_recordset(NULL::members."memberMaxRating", ${JSON.stringify(saved.rows)}::jsonb)`.execute(
        db(),
      );
    }
    expect((await run({ samples: 25, seed: SEED })).passed).toBe(true);
  });

  it('refuse bad input before reading anything', async () => {
    const text = await run({ samples: 0 }).then(
      () => 'completed',
      (e: unknown) => failureText(e),
    );
    expect(text).toContain('--samples must be at least 1');
  });
});
