import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVELOP_RATED_KEY } from '../domain/mapping';
import { keyIds, loadCatalog } from '../store/catalog';
import { refreshRanks } from '../store/derived';
import { refreshMembers } from '../store/refresh/members';
import { runTestBackfill } from './support/backfill';
import { seededStack } from './support/stack';

/**
 * Under live traffic a refresh can give a member their first rating on a key whose ranks we compute, between two
 * whole re-rankings (the sequencer's, a backfill's finalize). The row must not wait for one without a rank: parity's
 * rank-completeness reported exactly that on the large seed, when the sequencer lagged behind autopilot. The
 * expected ranks are counted here in JavaScript from every stored rating and country (not by the SQL under test),
 * with a tie on purpose: equal ratings share a rank.
 */
describe('refresh: a newly rated row gets its rank at once', () => {
  let env: Awaited<ReturnType<typeof seededStack>>;
  beforeAll(async () => {
    env = await seededStack('refresh_rank', { size: 'small', seed: 11 });
    await runTestBackfill(env.stack.client!, env.taskQueue, {});
  }, 240_000);
  afterAll(async () => {
    await env?.close();
  });

  const blank = (v: string | null) => (v !== null && v.trim() !== '' ? v : null);

  it('globalRank and countryRank as RANK() gives them among the stored ratings; the next re-ranking agrees', async () => {
    const db = env.stack.dbs.members;
    const cat = await loadCatalog(env.stack.dbs.challenges);
    const [trackId, typeId] = keyIds(cat, DEVELOP_RATED_KEY);
    // every stored public rating of the partition, with each member's rank country (competition, home, country)
    const stored = await sql<{ userId: number; rating: number; c1: string | null; c2: string | null; c3: string | null }>`
      SELECT s."userId", s.rating, m."competitionCountryCode" AS c1, m."homeCountryCode" AS c2, m.country AS c3
      FROM members."memberStats" s JOIN members."member" m ON m."userId" = s."userId"
      WHERE s."trackId" = ${trackId}::uuid AND s."typeId" = ${typeId}::uuid AND NOT s."isPrivate" AND s.rating IS NOT NULL`.execute(db);
    const countryOf = (r: { c1: string | null; c2: string | null; c3: string | null }) => blank(r.c1) ?? blank(r.c2) ?? blank(r.c3);
    const ratings = stored.rows.map((r) => ({ ...r, country: countryOf(r) }));
    expect(ratings.length).toBeGreaterThan(50);
    // a member with a country and no row of the key; the new rating ties a stored one in their country
    const newcomer = (
      await sql<{ userId: number; c1: string | null; c2: string | null; c3: string | null }>`
        SELECT m."userId", m."competitionCountryCode" AS c1, m."homeCountryCode" AS c2, m.country AS c3 FROM members."member" m
        WHERE NOT EXISTS (SELECT 1 FROM members."memberStats" s WHERE s."userId" = m."userId" AND s."trackId" = ${trackId}::uuid AND s."typeId" = ${typeId}::uuid)
        ORDER BY m."userId"`.execute(db)
    ).rows.find((m) => {
      const c = countryOf(m);
      return c !== null && ratings.filter((r) => r.country === c).length >= 5;
    })!;
    expect(newcomer).toBeDefined();
    const country = countryOf(newcomer)!;
    const sameCountry = ratings.filter((r) => r.country === country).sort((a, b) => b.rating - a.rating);
    const rating = sameCountry[Math.floor(sameCountry.length / 2)]!.rating;
    const challenge = await sql<{ id: string }>`
      SELECT c.id::text AS id FROM challenges."Challenge" c JOIN challenges."ChallengeTrack" t ON t.id = c."trackId"
      JOIN challenges."ChallengeType" y ON y.id = c."typeId"
      WHERE t.track = 'DEVELOPMENT' AND y.name = 'Challenge' AND c.status = 'COMPLETED' AND c."endDate" IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM reviews."challengeResult" r WHERE r."challengeId" = c.id::text AND r."userId" = ${String(newcomer.userId)})
      ORDER BY c."endDate" DESC LIMIT 1`.execute(env.stack.dbs.challenges);
    await sql`
      INSERT INTO reviews."challengeResult" ("challengeId", "userId", placement, "finalScore", rated, "passedReview", "validSubmission",
        "oldRating", "newRating", "createdAt", "updatedAt")
      VALUES (${challenge.rows[0]!.id}, ${String(newcomer.userId)}, 1, 99, true, true, true, NULL, ${rating}, now(), now())`.execute(
      env.stack.dbs.reviews,
    );

    await refreshMembers(env.stack.dbs, cat, [newcomer.userId], 'test:refresh-rank');

    const row = async () =>
      (
        await sql<{ rating: number; globalRank: number | null; countryRank: number | null }>`
          SELECT rating, "globalRank", "countryRank" FROM members."memberStats"
          WHERE "userId" = ${newcomer.userId} AND "trackId" = ${trackId}::uuid AND "typeId" = ${typeId}::uuid`.execute(db)
      ).rows[0];
    const written = await row();
    expect(written?.rating).toBe(rating);
    const expected = {
      globalRank: 1 + ratings.filter((r) => r.rating > rating).length,
      countryRank: 1 + sameCountry.filter((r) => r.rating > rating).length,
    };
    expect({ globalRank: written?.globalRank, countryRank: written?.countryRank }).toEqual(expected);
    // the tie: the stored member rated the same in that country holds the same countryRank
    expect(sameCountry.filter((r) => r.rating === rating).length).toBeGreaterThan(0);

    // a whole re-ranking gives the newcomer the same ranks (only the members below move)
    await refreshRanks(db, [{ trackId, typeId }]);
    const reranked = await row();
    expect({ globalRank: reranked?.globalRank, countryRank: reranked?.countryRank }).toEqual(expected);
  });
});
