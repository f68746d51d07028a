import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PARITY_CATEGORIES } from '../domain/parity';
import { runTestBackfill } from './support/backfill';
import { runTestParity } from './support/parity';
import { seededStack } from './support/stack';

/**
 * Preserved versus computed (DESIGN.md), the way a new user found it broken: perturb the legacy numbers after
 * seeding — as if the old system had rated some members differently and ranked others its own way — backfill
 * again, and parity must stay clean, with and without the rating continuation. Only preserving can pass this:
 * nothing in the sources would let a recomputation arrive at the perturbed values.
 */
describe('legacy numbers are preserved, new ones continue from them', () => {
  let env: Awaited<ReturnType<typeof seededStack>>;
  const db = () => env.stack.dbs.members;
  const exec = (q: ReturnType<typeof sql>) => q.execute(db());

  beforeAll(async () => {
    env = await seededStack('preserve', { size: 'tiny', seed: 11 });
  });
  afterAll(async () => {
    await env?.close();
  });

  const parityFull = async () => {
    const r = await runTestParity(env.stack.client!, env.taskQueue, { mode: 'full', examples: 3 });
    const differing = PARITY_CATEGORIES.filter((c) => r.categories[c].count > 0).map(
      (c) => `${c}: ${JSON.stringify(r.categories[c].examples)}`,
    );
    return differing;
  };

  /** The old system rated one member in `every` differently: every Development rating number of theirs moves by `delta`. */
  async function perturbDevelopment(every: number, offset: number, delta: number): Promise<number> {
    const members = await exec(sql`
      SELECT DISTINCT ds."userId" FROM members."memberDevelopStats" ds JOIN members."memberDevelopStatsItem" i ON i."developStatsId" = ds.id
      WHERE i.name IN ('DEVELOPMENT', 'CODE') AND i.rating IS NOT NULL AND ds."userId" % ${every} = ${offset}`);
    const ids = (members.rows as Array<{ userId: number }>).map((r) => r.userId);
    await exec(sql`
      UPDATE members."memberDevelopStatsItem" i SET rating = rating + ${delta}, "maxRating" = "maxRating" + ${delta}, "minRating" = "minRating" + ${delta}
      FROM members."memberDevelopStats" ds WHERE i."developStatsId" = ds.id AND ds."userId" = ANY(${ids}::bigint[])
        AND i.name IN ('DEVELOPMENT', 'CODE') AND i.rating IS NOT NULL`);
    await exec(sql`
      UPDATE members."memberDevelopHistoryStats" d SET "newRating" = "newRating" + ${delta}
      FROM members."memberHistoryStats" h WHERE d."historyStatsId" = h.id AND h."userId" = ANY(${ids}::bigint[]) AND d."newRating" IS NOT NULL`);
    await exec(sql`
      UPDATE reviews."challengeResult" SET "oldRating" = "oldRating" + ${delta}, "newRating" = "newRating" + ${delta}
      WHERE "userId" = ANY(${ids.map(String)}::text[]) AND "newRating" IS NOT NULL
        AND "challengeId" IN (SELECT c.id::text FROM challenges."Challenge" c JOIN challenges."ChallengeType" y ON y.id = c."typeId" WHERE y.name IN ('Challenge', 'CODE'))`);
    return ids.length;
  }

  /** The legacy pages ranked some SRM and Marathon Match members their own way. */
  async function perturbRanks(every: number): Promise<void> {
    for (const table of ['memberSrmStats', 'memberMarathonStats']) {
      await exec(sql`
        UPDATE ${sql.table(`members.${table}`)} s SET rank = rank + 3, "countryRank" = "countryRank" + 1
        FROM members."memberDataScienceStats" d WHERE s."dataScienceStatsId" = d.id AND d."userId" % ${every} = 0 AND s.rank IS NOT NULL`);
    }
  }

  /** Unified SRM/MM ranks that differ from legacy's (they are preserved, never re-ranked). */
  async function dataScienceRankDrift(): Promise<number> {
    const r = await exec(sql`
      SELECT count(*)::int AS n FROM (
        SELECT d."userId", s.rank, s."countryRank", 'SRM' AS t FROM members."memberDataScienceStats" d JOIN members."memberSrmStats" s ON s."dataScienceStatsId" = d.id
        UNION ALL
        SELECT d."userId", s.rank, s."countryRank", 'Marathon Match' FROM members."memberDataScienceStats" d JOIN members."memberMarathonStats" s ON s."dataScienceStatsId" = d.id
      ) l
      JOIN members."member" m ON m."userId" = l."userId"
      JOIN challenges."ChallengeType" y ON y.name = l.t
      JOIN members."memberStats" u ON u."userId" = l."userId" AND u."typeId" = y.id
      WHERE u."globalRank" IS DISTINCT FROM l.rank OR u."countryRank" IS DISTINCT FROM l."countryRank"`);
    return (r.rows[0] as { n: number }).n;
  }

  it('a fresh seed backfills to clean parity because values are preserved (the seed’s legacy numbers are not our engine’s)', async () => {
    await runTestBackfill(env.stack.client!, env.taskQueue, {});
    expect(await parityFull()).toEqual([]);
    expect(await dataScienceRankDrift()).toBe(0);
  });

  it('legacy ratings and ranks changed after seeding: a backfill with the rating continuation keeps parity clean', async () => {
    expect(await perturbDevelopment(7, 0, 25)).toBeGreaterThan(3);
    await perturbRanks(5);
    expect(await dataScienceRankDrift()).toBeGreaterThan(0); // until the backfill brings legacy's over
    const r = await runTestBackfill(env.stack.client!, env.taskQueue, {});
    expect(r.totals.statsRows).toBeGreaterThan(0);
    expect(await parityFull()).toEqual([]);
    expect(await dataScienceRankDrift()).toBe(0);
  });

  it('and again without it (--skip-rerate)', async () => {
    expect(await perturbDevelopment(7, 3, -13)).toBeGreaterThan(3);
    await perturbRanks(4);
    await runTestBackfill(env.stack.client!, env.taskQueue, { skipRerate: true });
    expect(await parityFull()).toEqual([]);
    expect(await dataScienceRankDrift()).toBe(0);
  });
});
