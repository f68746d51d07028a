import { MockActivityEnvironment } from '@temporalio/testing';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfillActivities } from '../activities/backfill';
import { BackfillOptions, type BatchPlan } from '../domain/backfill';
import { DEVELOP_RATED_KEY } from '../domain/mapping';
import { ranksLeftToBackfill } from '../store/backfill/ranks';
import { refreshRanks } from '../store/derived';
import { enableChangeCapture } from '../store/parity/changes';
import { keyIds, loadCatalog } from '../store/catalog';
import { rerankStream } from '../store/rerate/write';
import { runTestBackfill } from './support/backfill';
import { seededStack } from './support/stack';

/**
 * While a backfill runs, a live rating leaves the Development partition's ranks to the backfill's end (each
 * re-rank during it rewrote nearly every rank, and slowed the backfill beside it). Nothing may be lost: a rating
 * committed before it asked is re-ranked by the backfill's end, which waits for the asking transaction. Expected
 * ranks are counted here from the stored ratings (1 + those rated higher), not by the SQL under test.
 */
describe('ranks during a backfill', () => {
  let env: Awaited<ReturnType<typeof seededStack>>;
  let db: Kysely<any>;
  let trackId: string;
  let typeId: string;
  beforeAll(async () => {
    env = await seededStack('backfill_ranks', { size: 'tiny', seed: 17 });
    await runTestBackfill(env.stack.client!, env.taskQueue, {});
    db = env.stack.dbs.members;
    [trackId, typeId] = keyIds(await loadCatalog(env.stack.dbs.challenges), DEVELOP_RATED_KEY);
  }, 240_000);
  afterAll(async () => {
    await env?.close();
  });

  const partition = () => sql`s."trackId" = ${trackId}::uuid AND s."typeId" = ${typeId}::uuid AND NOT s."isPrivate"`;
  /** the members of the partition with a rating, lowest first */
  const rated = async () =>
    (
      await sql<{ userId: number; rating: number; globalRank: number | null }>`
        SELECT s."userId", s.rating, s."globalRank" FROM members."memberStats" s WHERE ${partition()} AND s.rating IS NOT NULL
        ORDER BY s.rating, s."userId"`.execute(db)
    ).rows;
  /** gives `userId` the partition's top rating, as a rating committed by the sequencer would */
  const rateTop = async (userId: number) => {
    const top = Math.max(...(await rated()).map((r) => r.rating)) + 50;
    await sql`UPDATE members."memberStats" s SET rating = ${top} WHERE ${partition()} AND s."userId" = ${userId}`.execute(db);
  };
  const rankOf = async (userId: number) => (await rated()).find((r) => r.userId === userId)!.globalRank;
  const beginRun = (runKey: string, opts: { ranksAtEnd: boolean; startedAgoSeconds: number }) =>
    sql`INSERT INTO platform."backfillRun" ("runKey", "resumeKey", plan, "ranksAtEnd", "startedAt")
        VALUES (${runKey}, ${`test:${runKey}`}, '{}'::jsonb, ${opts.ranksAtEnd}, now() - make_interval(secs => ${opts.startedAgoSeconds}))`.execute(
      db,
    );
  const endRuns = () => sql`UPDATE platform."backfillRun" SET status = 'done' WHERE status = 'running'`.execute(db);
  const cat = () => loadCatalog(env.stack.dbs.challenges);

  it('a live rating leaves the ranks to a running backfill; not to a stale one, nor to one that does not rank', async () => {
    const low = await rated();
    const member = low[0]!.userId;
    expect(low.length).toBeGreaterThan(10);
    const before = await rankOf(member);
    expect(before).toBe(1 + low.filter((r) => r.rating > low[0]!.rating).length);
    await rateTop(member);

    await beginRun('live', { ranksAtEnd: true, startedAgoSeconds: 5 });
    expect(await rerankStream(db, await cat(), 'develop', { leaveToBackfill: true })).toBe(0);
    expect(await rankOf(member)).toBe(before); // left to the backfill's end

    await endRuns();
    await beginRun('no-ranks', { ranksAtEnd: false, startedAgoSeconds: 5 });
    await beginRun('stale', { ranksAtEnd: true, startedAgoSeconds: 3600 });
    expect(await rerankStream(db, await cat(), 'develop', { leaveToBackfill: true })).toBeGreaterThan(0);
    expect(await rankOf(member)).toBe(1); // rated highest of all
    await endRuns();
  });

  it('parity’s change capture leaves a whole re-ranking out, and still marks the rating that shifted it', async () => {
    expect(await enableChangeCapture(db)).not.toHaveProperty('off');
    const rows = await rated();
    const member = rows[Math.floor(rows.length / 2)]!.userId;
    const marked = async () =>
      (await sql<{ userId: number }>`SELECT DISTINCT "userId" FROM platform."changedMember" WHERE "table" = 'memberStats'`.execute(db)).rows
        .map((r) => r.userId)
        .sort((a, b) => a - b);
    await sql`DELETE FROM platform."changedMember"`.execute(db);
    await rateTop(member);
    expect(await marked()).toEqual([member]);
    // every member rated higher than the member was shifts down by one: none of them is marked
    const shifted = rows.filter((r) => r.rating > rows.find((x) => x.userId === member)!.rating).length;
    expect(shifted).toBeGreaterThan(3);
    expect(await refreshRanks(db, [{ trackId, typeId }])).toBeGreaterThanOrEqual(shifted);
    expect(await marked()).toEqual([member]);
    // the setting is the re-ranking's alone: a later write in the same transaction is captured
    await db.transaction().execute(async (tx) => {
      await refreshRanks(tx, [{ trackId, typeId }]);
      await sql`UPDATE members."memberStats" s SET rating = rating + 1 WHERE ${partition()} AND s."userId" = ${rows[0]!.userId}`.execute(
        tx,
      );
    });
    expect(await marked()).toEqual([member, rows[0]!.userId].sort((a, b) => a - b));
  });

  it('the backfill’s end waits for a rating that asked, then ranks what it committed', async () => {
    const second = (await rated()).at(-2)!.userId; // not the top one of the test before
    await beginRun('ending', { ranksAtEnd: true, startedAgoSeconds: 5 });
    const acts = backfillActivities({ dbs: env.stack.dbs, config: env.stack.config });
    const plan: BatchPlan = { fullRun: false, runKey: 'ending', replayKey: 'ending', checkpoint: true };
    let finalize: Promise<unknown> | undefined;
    // a rating asked (its rows committed before), and holds the answer open while the backfill ends
    await db.transaction().execute(async (tx) => {
      expect(await ranksLeftToBackfill(tx, { trackId, typeId })).toBe(true);
      finalize = new MockActivityEnvironment().run(acts.backfillFinalize, { options: BackfillOptions.parse({ userIds: [1] }), plan });
      // the end waits on the run's row
      await expect
        .poll(
          async () =>
            (
              await sql<{ n: number }>`
                SELECT count(*)::int AS n FROM pg_stat_activity
                WHERE wait_event_type = 'Lock' AND query LIKE '%backfillRun%' AND pid <> pg_backend_pid()`.execute(db)
            ).rows[0]!.n,
          { timeout: 20_000 },
        )
        .toBe(1);
      // what another rating commits meanwhile is ranked by the end as well
      await rateTop(second);
    });
    await finalize;
    expect(await rankOf(second)).toBe(1);
    const run = await sql<{ status: string }>`SELECT status FROM platform."backfillRun" WHERE "runKey" = 'ending'`.execute(db);
    expect(run.rows[0]!.status).toBe('done');
  });
});
