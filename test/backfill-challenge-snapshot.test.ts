import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackfillOptions } from '../domain/backfill';
import { continueFromLegacy } from '../domain/rating/continue';
import { processBatch, untimed } from '../store/backfill/batch';
import { dropChallengeSnapshot, takeChallengeSnapshot } from '../store/backfill/challenge-snapshot';
import { beginRun } from '../store/backfill/checkpoint';
import { developReplay, legacyDevelopStates } from '../store/backfill/develop-replay';
import { loadCatalog } from '../store/catalog';
import { developmentEvents } from '../store/rated-events';
import { refreshMembers } from '../store/refresh/members';
import { runTestBackfill } from './support/backfill';
import { seededStack } from './support/stack';

/**
 * A backfill run reads the Challenge table once (store/backfill/challenge-snapshot.ts) while the platform stays live:
 * a challenge that ends during the run is a refresh's to apply, and a later batch of the run must not undo it with
 * what it read at the start. The expected rows are the challenge's own: its id in the member's history, counted in
 * their stats, read back from the tables.
 */
describe('backfill: the run reads Challenge once, and refreshes keep that reading fresh', () => {
  let env: Awaited<ReturnType<typeof seededStack>>;
  beforeAll(async () => {
    env = await seededStack('challenge_snapshot', { size: 'small', seed: 23 });
    await runTestBackfill(env.stack.client!, env.taskQueue, {});
  }, 240_000);
  afterAll(async () => {
    await env?.close();
  });

  it('a challenge that ends mid-run: the refresh writes it, a batch after keeps it; with the stale reading it would be lost', async () => {
    const { dbs } = env.stack;
    const cat = await loadCatalog(dbs.challenges);
    const runKey = 'test:challenge-snapshot';
    const plan = { fullRun: true, runKey, checkpoint: true, challengeSnapshot: true, ranges: [], userIds: [], membersTotal: 0 };
    await beginRun(dbs.members, 'test:snapshot', plan, false);
    expect(await takeChallengeSnapshot(dbs.members, runKey)).toBeGreaterThan(100);

    // a Development challenge still running when the run began, and a member who took no part in it
    const active = await sql<{ id: string }>`
      SELECT c.id::text AS id FROM challenges."Challenge" c JOIN challenges."ChallengeTrack" t ON t.id = c."trackId"
      JOIN challenges."ChallengeType" y ON y.id = c."typeId"
      WHERE t.track = 'DEVELOPMENT' AND y.name = 'Challenge' AND c.status = 'ACTIVE' ORDER BY c.id LIMIT 1`.execute(dbs.challenges);
    const challengeId = active.rows[0]!.id;
    const member = await sql<{ userId: number }>`
      SELECT m."userId" FROM members."member" m
      WHERE EXISTS (SELECT 1 FROM members."memberStats" s WHERE s."userId" = m."userId")
        AND NOT EXISTS (SELECT 1 FROM reviews."challengeResult" r WHERE r."challengeId" = ${challengeId} AND r."userId" = m."userId"::text)
      ORDER BY m."userId" LIMIT 1`.execute(dbs.members);
    const userId = member.rows[0]!.userId;

    // it ends: completed, the member placed first with a rating the old system recorded
    await sql`UPDATE challenges."Challenge" SET status = 'COMPLETED', "endDate" = now() - interval '1 minute' WHERE id = ${challengeId}::uuid`.execute(
      dbs.challenges,
    );
    await sql`
      INSERT INTO reviews."challengeResult" ("challengeId", "userId", placement, "finalScore", rated, "passedReview", "validSubmission",
        "oldRating", "newRating", "createdAt", "updatedAt")
      VALUES (${challengeId}, ${String(userId)}, 1, 97, true, true, true, NULL, 1234, now(), now())`.execute(dbs.reviews);

    const history = async () =>
      (
        await sql<{ newRating: number | null }>`
          SELECT "newRating" FROM members."memberStatsHistory" WHERE "userId" = ${userId} AND "challengeId" = ${challengeId}`.execute(
          dbs.members,
        )
      ).rows;
    const batch = () =>
      dbs.members.transaction().execute((tx) =>
        processBatch(tx, {
          dbs,
          catalog: cat,
          scope: { userIds: [userId] },
          options: BackfillOptions.parse({ userIds: [userId], skipRerate: true }),
          plan: { fullRun: true, runKey, challengeSnapshot: true },
          lap: untimed,
          replay: () => Promise.reject(new Error('not rating here')),
        }),
      );

    // the refresh reads Challenge itself and writes the row; it also brings the run's reading up to date
    await refreshMembers(dbs, cat, [userId], 'test:refresh');
    expect(await history()).toEqual([{ newRating: 1234 }]);
    const read = await sql<{ status: string }>`
      SELECT status FROM platform."backfillChallenge" WHERE "runKey" = ${runKey} AND id = ${challengeId}`.execute(dbs.members);
    expect(read.rows).toEqual([{ status: 'COMPLETED' }]);

    // the run's batch of that member, after the refresh: the row stays
    await batch();
    expect(await history()).toEqual([{ newRating: 1234 }]);

    // what the copy prevents: the reading as the run began would remove the row as stale
    await sql`UPDATE platform."backfillChallenge" SET status = 'ACTIVE' WHERE "runKey" = ${runKey} AND id = ${challengeId}`.execute(
      dbs.members,
    );
    await batch();
    expect(await history()).toEqual([]);

    // the run is over: its reading goes; a later reading also clears the readings of runs no longer going on
    await dropChallengeSnapshot(dbs.members, runKey);
    const left = async () =>
      (await sql<{ n: number }>`SELECT count(*)::int AS n FROM platform."backfillChallenge"`.execute(dbs.members)).rows[0]!.n;
    expect(await left()).toBe(0);
    await takeChallengeSnapshot(dbs.members, runKey);
    await sql`UPDATE platform."backfillRun" SET status = 'abandoned' WHERE "runKey" = ${runKey}`.execute(dbs.members);
    await beginRun(dbs.members, 'test:snapshot-2', { ...plan, runKey: 'test:second' }, false);
    await takeChallengeSnapshot(dbs.members, 'test:second');
    const runs = await sql<{ runKey: string }>`SELECT DISTINCT "runKey" FROM platform."backfillChallenge"`.execute(dbs.members);
    expect(runs.rows).toEqual([{ runKey: 'test:second' }]);
  });

  it('the continuation reads only what it rates, and rates exactly as the whole stream read into memory does', async () => {
    const { dbs } = env.stack;
    const cat = await loadCatalog(dbs.challenges);
    for (const policy of ['rated', 'unrated'] as const) {
      // the reference: every event with its participants, every recorded outcome
      const stream = await developmentEvents(dbs, cat, policy);
      const recorded = new Map<string, Map<string, number>>();
      const rows = await sql<{ challengeId: string; userId: string; newRating: number }>`
        SELECT "challengeId", "userId", "newRating" FROM reviews."challengeResult"
        WHERE "challengeId" = ANY(${[...stream.challenges.keys()]}::text[]) AND "newRating" IS NOT NULL`.execute(dbs.reviews);
      for (const r of rows.rows) {
        if (!recorded.has(r.challengeId)) recorded.set(r.challengeId, new Map());
        recorded.get(r.challengeId)!.set(r.userId, r.newRating);
      }
      const expected = continueFromLegacy(stream.events, recorded, await legacyDevelopStates(dbs.members));
      const got = await developReplay(dbs, cat, policy);
      const order = (a: { userId: string; challengeId: string }, b: { userId: string; challengeId: string }) =>
        a.userId.localeCompare(b.userId) || a.challengeId.localeCompare(b.challengeId);
      expect(expected.history.length).toBeGreaterThan(20);
      expect([...got.byMember.values()].flat().sort(order)).toEqual([...expected.history].sort(order));
      expect(new Map([...got.states].sort())).toEqual(new Map([...expected.states].sort()));
    }
  });
});
