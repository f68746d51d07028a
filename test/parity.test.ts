import { CutoverState } from '../domain/search-attributes';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parityActivities } from '../activities/parity';
import { TRACKS, TYPES, type TrackName, type TypeName } from '../domain/catalog';
import { PARITY_CATEGORIES } from '../domain/parity';
import type { Stack } from '../lib/stack';
import { runSeed } from '../scripts/seed/index';
import { runWorker, type RunningWorker } from '../workers/run';
import { runTestBackfill, unifiedChecksum } from './support/backfill';
import { createTestDatabase } from './support/db';
import { counts, one, only, runTestParity, seededMembers } from './support/parity';
import { testStack, uniqueTaskQueue, workflowBundle } from './support/stack';

const track = (t: TrackName) => TRACKS.find((x) => x.track === t)!.id;
const type = (t: TypeName) => TYPES.find((x) => x.name === t)!.id;
const STATS = sql`members."memberStats"`;
const HISTORY = sql`members."memberStatsHistory"`;

describe('parity (real Temporal, real Postgres, tiny dataset, backfilled)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let stack: Stack;
  let worker: RunningWorker;
  const taskQueue = uniqueTaskQueue('parity');
  const run = (o: Parameters<typeof runTestParity>[2]) => runTestParity(stack.client!, taskQueue, o);
  /** full runs use this seed: its first 20 members are the response-shape sample, so faults for other categories avoid them */
  const FULL = { mode: 'full' as const, seed: 'faults' };
  let shapeMembers: number[];
  let clean: Awaited<ReturnType<typeof unifiedChecksum>>;
  const q = <T>(query: ReturnType<typeof sql<T>>) => one(stack.dbs.members, query);
  const exec = (query: ReturnType<typeof sql>) => query.execute(stack.dbs.members);

  beforeAll(async () => {
    db = await createTestDatabase('parity');
    stack = await testStack(db.url);
    await runSeed(stack.dbs, { size: 'tiny', seed: 11 });
    worker = await runWorker(stack, { taskQueue, workflowBundle: await workflowBundle() });
    await runTestBackfill(stack.client!, taskQueue, {});
    shapeMembers = await seededMembers(stack.dbs.members, 'faults', 20);
    clean = await unifiedChecksum(stack.dbs.members);
  });
  afterAll(async () => {
    await worker?.stop();
    await stack?.close();
    await db?.drop();
  });

  it('a backfilled dataset is clean in every mode, with the scope and evidence recorded', async () => {
    const full = await run(FULL);
    expect(counts(full)).toEqual(only({}));
    expect(full.passed).toBe(true);
    expect(full.membersInScope).toBe(full.membersTotal);
    expect(full.workflowId).toMatch(/^test\/parity\//);
    const sampled = await run({ mode: 'sample', samples: 25, seed: 'clean' });
    expect(sampled.passed).toBe(true);
    expect(sampled.membersInScope).toBe(25);
    const user = await run({ mode: 'user', userId: shapeMembers[0]! });
    expect(user.passed).toBe(true);
    expect(user.membersInScope).toBe(1);
    const ev = await sql<{ passed: boolean; input: { mode: string; seed: string; sampleHash: string }; dataWatermark: string }>`
      SELECT passed, input, "dataWatermark" FROM platform.evidence WHERE id = ${sampled.evidenceId} AND kind = 'parity'`.execute(
      stack.dbs.members,
    );
    expect(ev.rows[0]).toMatchObject({
      passed: true,
      input: { mode: 'sample', seed: 'clean', sampleHash: sampled.sampleHash },
      dataWatermark: sampled.dataWatermark,
    });
  });

  it('track-summary: a changed challenges count', async () => {
    const row = await q(sql<{ id: number; userId: number; challenges: number }>`
      SELECT id, "userId", challenges FROM ${STATS} WHERE "trackId" = ${track('DESIGN')} AND "typeId" = ${type('Challenge')}
        AND "userId" <> ALL(${shapeMembers}::bigint[]) ORDER BY "userId" LIMIT 1`);
    await exec(sql`UPDATE ${STATS} SET challenges = challenges + 3 WHERE id = ${row.id}`);
    try {
      const r = await run(FULL);
      expect(counts(r)).toEqual(only({ 'track-summary': 1 }));
      expect(r.categories['track-summary'].examples).toEqual([
        { userId: row.userId, track: 'DESIGN', type: null, field: 'challenges', legacy: row.challenges, unified: row.challenges + 3 },
      ]);
    } finally {
      await exec(sql`UPDATE ${STATS} SET challenges = ${row.challenges} WHERE id = ${row.id}`);
    }
  });

  it('rating-mismatch: a bumped SRM rating and a bumped Development stream rating', async () => {
    const srm = await q(sql<{ id: number; userId: number; rating: number }>`
      SELECT id, "userId", rating FROM ${STATS} WHERE "typeId" = ${type('SRM')} AND rating IS NOT NULL
        AND "userId" <> ALL(${shapeMembers}::bigint[]) ORDER BY "userId" LIMIT 1`);
    // a stream row with nothing after legacy's last event (there the rating must be exactly legacy's)
    const dev = await q(sql<{ id: number; userId: number; rating: number }>`
      SELECT s.id, s."userId", s.rating FROM ${STATS} s
      WHERE s."trackId" = ${track('DEVELOPMENT')} AND s."typeId" = ${type('Challenge')} AND s.rating IS NOT NULL
        AND s."userId" <> ALL(${shapeMembers}::bigint[])
        AND s."mostRecentEventDate" = (SELECT max(i."mostRecentEventDate") FROM members."memberDevelopStats" ds
          JOIN members."memberDevelopStatsItem" i ON i."developStatsId" = ds.id
          WHERE ds."userId" = s."userId" AND i.name IN ('DEVELOPMENT', 'CODE') AND i.rating IS NOT NULL)
      ORDER BY s."userId" LIMIT 1`);
    await exec(sql`UPDATE ${STATS} SET rating = rating + 1 WHERE id = ${srm.id}`);
    await exec(sql`UPDATE ${STATS} SET rating = rating + 7 WHERE id = ${dev.id}`);
    try {
      const r = await run(FULL);
      expect(counts(r)).toEqual(only({ 'rating-mismatch': 2 }));
      // in the Web UI the run is visibly not a success: its state and its current details say what differs
      const h = stack.client!.workflow.getHandle(r.workflowId);
      expect((await h.describe()).typedSearchAttributes.get(CutoverState)).toBe('differences');
      const meta = await h.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      expect(meta.currentDetails).toBe(`parity: 1 category differs (rating-mismatch 2) · evidence #${r.evidenceId}`);
      expect(r.categories['rating-mismatch'].examples).toEqual(
        expect.arrayContaining([
          { userId: srm.userId, track: 'DATA_SCIENCE', type: 'SRM', field: 'rating', legacy: srm.rating, unified: srm.rating + 1 },
          { userId: dev.userId, track: 'DEVELOPMENT', type: 'Challenge', field: 'rating', legacy: dev.rating, unified: dev.rating + 7 },
        ]),
      );
    } finally {
      await exec(sql`UPDATE ${STATS} SET rating = ${srm.rating} WHERE id = ${srm.id}`);
      await exec(sql`UPDATE ${STATS} SET rating = ${dev.rating} WHERE id = ${dev.id}`);
    }
  });

  it('history-count: a lost legacy history row', async () => {
    const row = await q(sql<{ id: number; userId: number }>`
      SELECT id, "userId" FROM ${HISTORY} WHERE "createdBy" = 'backfill:legacy' AND NOT "mostRecent"
        AND "userId" <> ALL(${shapeMembers}::bigint[]) ORDER BY "userId", id LIMIT 1`);
    await exec(sql`CREATE TABLE public.saved_history AS SELECT * FROM ${HISTORY} WHERE id = ${row.id}`);
    await exec(sql`DELETE FROM ${HISTORY} WHERE id = ${row.id}`);
    try {
      const r = await run(FULL);
      expect(counts(r)).toEqual(only({ 'history-count': 1 }));
      expect(r.categories['history-count'].examples[0]).toMatchObject({ userId: row.userId, field: 'rows' });
      // an extra row on the same key restores the count, but the legacy challenge is still missing
      await exec(sql`
        INSERT INTO ${HISTORY} ("userId", "trackId", "typeId", "challengeId", "eventDate", "newRating", "createdBy")
        SELECT "userId", "trackId", "typeId", 'extra', '2001-01-01', 1000, 'test' FROM public.saved_history`);
      const again = await run(FULL);
      expect(counts(again)).toEqual(only({ 'history-count': 1 }));
      expect(again.categories['history-count'].examples[0]).toMatchObject({ userId: row.userId, field: 'challengeId', unified: null });
    } finally {
      await exec(sql`DELETE FROM ${HISTORY} WHERE "createdBy" = 'test'`);
      await exec(sql`INSERT INTO ${HISTORY} SELECT * FROM public.saved_history; DROP TABLE public.saved_history`);
    }
  });

  it('history-order: the mostRecent flag on an older row, and null newRatings (an error; a warning where the challenge is marked unrated)', async () => {
    const group = await q(sql<{ userId: number; trackId: string; typeId: string; ids: number[] }>`
      SELECT "userId", "trackId"::text AS "trackId", "typeId"::text AS "typeId", array_agg(id ORDER BY "eventDate", "challengeId") AS ids
      FROM ${HISTORY} WHERE "userId" <> ALL(${shapeMembers}::bigint[]) AND "newRating" IS NOT NULL
      GROUP BY 1, 2, 3 HAVING count(DISTINCT "eventDate") >= 3 ORDER BY 1, 2, 3 LIMIT 1`);
    const [oldest, second] = group.ids as [number, number];
    const latest = group.ids.at(-1)!;
    const secondRating = (await q(sql<{ newRating: number }>`SELECT "newRating" FROM ${HISTORY} WHERE id = ${second}`)).newRating;
    const unrated = await q(sql<{ id: string }>`
      SELECT md."challengeId"::text AS id FROM challenges."ChallengeMetadata" md
      WHERE ((md.name IN ('rated', 'isRated') AND md.value = 'false') OR (md.name = 'unrated' AND md.value = 'true'))
        AND NOT EXISTS (SELECT 1 FROM ${HISTORY} h WHERE h."userId" = ${group.userId} AND h."challengeId" = md."challengeId"::text)
      ORDER BY 1 LIMIT 1`);
    // the backfill writes null-rating rows of explicitly unrated challenges itself: those warnings are the baseline
    const base = (await run(FULL)).categories['history-order'].warnings?.count ?? 0;
    // clear before set: the partial unique index admits no other order
    await exec(sql`UPDATE ${HISTORY} SET "mostRecent" = false WHERE id = ${latest}`);
    await exec(sql`UPDATE ${HISTORY} SET "mostRecent" = true WHERE id = ${oldest}`);
    await exec(sql`UPDATE ${HISTORY} SET "newRating" = NULL WHERE id = ${second}`);
    await exec(sql`
      INSERT INTO ${HISTORY} ("userId", "trackId", "typeId", "challengeId", "eventDate", "newRating", "createdBy")
      VALUES (${group.userId}, ${group.trackId}::uuid, ${group.typeId}::uuid, ${unrated.id}, '2001-01-01', NULL, 'test')`);
    try {
      const r = await run(FULL);
      expect(counts(r)).toEqual(only({ 'history-order': 2 }));
      const cat = r.categories['history-order'];
      expect(cat.examples.map((e) => e.field).sort()).toEqual(['mostRecent.eventDate', 'newRating']);
      expect(cat.warnings?.count).toBe(base + 1);
      const member = await run({ mode: 'user', userId: group.userId, examples: 1000 });
      expect(member.categories['history-order'].warnings?.examples).toContainEqual(
        expect.objectContaining({ userId: group.userId, field: 'newRating', legacy: unrated.id }),
      );
    } finally {
      await exec(sql`DELETE FROM ${HISTORY} WHERE "createdBy" = 'test'`);
      await exec(sql`UPDATE ${HISTORY} SET "newRating" = ${secondRating} WHERE id = ${second}`);
      await exec(sql`UPDATE ${HISTORY} SET "mostRecent" = false WHERE id = ${oldest}`);
      await exec(sql`UPDATE ${HISTORY} SET "mostRecent" = true WHERE id = ${latest}`);
    }
  });

  it('rank-completeness: a rating without a globalRank', async () => {
    const row = await q(sql<{ id: number; userId: number }>`
      SELECT id, "userId" FROM ${STATS} WHERE "trackId" = ${track('DESIGN')} AND rating IS NULL AND "globalRank" IS NULL
        AND "userId" <> ALL(${shapeMembers}::bigint[]) ORDER BY "userId" LIMIT 1`);
    await exec(sql`UPDATE ${STATS} SET rating = 1234 WHERE id = ${row.id}`);
    try {
      const r = await run(FULL);
      expect(counts(r)).toEqual(only({ 'rank-completeness': 1 }));
      expect(r.categories['rank-completeness'].examples[0]).toMatchObject({
        userId: row.userId,
        track: 'DESIGN',
        field: 'globalRank',
        unified: { rating: 1234, globalRank: null },
      });
    } finally {
      await exec(sql`UPDATE ${STATS} SET rating = NULL WHERE id = ${row.id}`);
    }
  });

  it('most-recent-violations: a group without its mostRecent row, counted over the whole table even by a sample that misses it', async () => {
    const row = await q(sql<{ id: number; userId: number }>`
      SELECT id, "userId" FROM ${HISTORY} WHERE "mostRecent" AND "userId" <> ALL(${shapeMembers}::bigint[]) ORDER BY "userId" DESC LIMIT 1`);
    await exec(sql`UPDATE ${HISTORY} SET "mostRecent" = false WHERE id = ${row.id}`);
    try {
      expect(counts(await run(FULL))).toEqual(only({ 'most-recent-violations': 1 }));
      const sampled = await run({ mode: 'sample', samples: 10, seed: 'faults' });
      expect(shapeMembers.slice(0, 10)).not.toContain(row.userId);
      expect(counts(sampled)).toEqual(only({ 'most-recent-violations': 1 }));
      expect(sampled.categories['most-recent-violations'].examples[0]).toMatchObject({
        userId: row.userId,
        field: 'mostRecent',
        unified: 0,
      });
    } finally {
      await exec(sql`UPDATE ${HISTORY} SET "mostRecent" = true WHERE id = ${row.id}`);
    }
  });

  it('non-null-rows: country ranks lost across a key (the stream we re-rank is not compared member by member)', async () => {
    // unified may rank more members than legacy did (members rated after the legacy data), so lose many, not one
    const lost = await exec(sql`
      WITH old AS (
        SELECT id, "countryRank" AS was FROM ${STATS} WHERE "trackId" = ${track('DEVELOPMENT')} AND "typeId" = ${type('Challenge')}
          AND "countryRank" IS NOT NULL AND "userId" <> ALL(${shapeMembers}::bigint[]))
      UPDATE ${STATS} s SET "countryRank" = NULL FROM old WHERE s.id = old.id RETURNING old.id, old.was`);
    try {
      const r = await run(FULL);
      expect(counts(r)).toEqual(only({ 'non-null-rows': 1 }));
      expect(r.categories['non-null-rows'].examples[0]).toMatchObject({ userId: null, track: 'DEVELOPMENT', field: 'countryRank rows' });
    } finally {
      for (const x of lost.rows as Array<{ id: number; was: number }>)
        await exec(sql`UPDATE ${STATS} SET "countryRank" = ${x.was} WHERE id = ${x.id}`);
    }
  });

  it('response-shape: a sampled member whose unified maxRating differs', async () => {
    const row = await q(sql<{ userId: number; rating: number }>`
      SELECT x."userId", x.rating FROM members."memberMaxRating" x WHERE x."userId" = ANY(${shapeMembers}::bigint[]) ORDER BY x."userId" LIMIT 1`);
    await exec(sql`UPDATE members."memberMaxRating" SET rating = rating - 1 WHERE "userId" = ${row.userId}`);
    try {
      const r = await run(FULL);
      expect(counts(r)).toEqual(only({ 'response-shape': 1 }));
      expect(r.categories['response-shape'].examples[0]).toMatchObject({
        userId: row.userId,
        field: 'maxRating.rating',
        legacy: row.rating,
        unified: row.rating - 1,
      });
    } finally {
      await exec(sql`UPDATE members."memberMaxRating" SET rating = ${row.rating} WHERE "userId" = ${row.userId}`);
    }
  });

  it('full and sampled runs agree on faults in sampled members; only full sees the one outside the sample', async () => {
    const sample = await seededMembers(stack.dbs.members, 'agree', 40);
    const inSample = sql`"userId" = ANY(${sample}::bigint[])`;
    // a key legacy has: DESIGN/Challenge of a member with a legacy design item that lands there
    const withLegacyDesign = sql`AND "typeId" = ${type('Challenge')} AND "userId" IN (
      SELECT ds."userId" FROM members."memberDesignStats" ds JOIN members."memberDesignStatsItem" i ON i."designStatsId" = ds.id
      WHERE i.name <> 'DESIGN_FIRST_2_FINISH')`;
    const rated = await q(
      sql<{
        id: number;
        rating: number;
      }>`SELECT id, rating FROM ${STATS} WHERE ${inSample} AND "trackId" = ${track('DATA_SCIENCE')} AND rating IS NOT NULL ORDER BY id LIMIT 1`,
    );
    const counted = await q(
      sql<{
        id: number;
        challenges: number;
      }>`SELECT id, challenges FROM ${STATS} WHERE ${inSample} AND "trackId" = ${track('DESIGN')} AND challenges > 0 ${withLegacyDesign} ORDER BY id DESC LIMIT 1`,
    );
    const outside = await q(
      sql<{
        id: number;
        challenges: number;
      }>`SELECT id, challenges FROM ${STATS} WHERE NOT ${inSample} AND "trackId" = ${track('DESIGN')} AND challenges > 0 ${withLegacyDesign} ORDER BY id LIMIT 1`,
    );
    const flagged = await q(sql<{ id: number }>`SELECT id FROM ${HISTORY} WHERE ${inSample} AND "mostRecent" ORDER BY id LIMIT 1`);
    await exec(sql`UPDATE ${STATS} SET rating = rating + 5 WHERE id = ${rated.id}`);
    // far fewer challenges than legacy counted: a difference whatever came after legacy's last event
    await exec(sql`UPDATE ${STATS} SET challenges = challenges - 1000 WHERE id IN (${counted.id}, ${outside.id})`);
    await exec(sql`UPDATE ${HISTORY} SET "mostRecent" = false WHERE id = ${flagged.id}`);
    try {
      const [sampled, full] = await Promise.all([
        run({ mode: 'sample', samples: 40, seed: 'agree' }),
        run({ mode: 'full', seed: 'agree' }),
      ]);
      expect(counts(sampled)['rating-mismatch']).toBe(1);
      expect(counts(sampled)['track-summary']).toBe(1);
      expect(counts(full)['track-summary']).toBe(2);
      for (const c of PARITY_CATEGORIES) {
        if (c === 'non-null-rows') continue; // aggregate per key over the scope: not comparable across scopes
        const inScope = full.categories[c].examples.filter(
          (e) => c === 'most-recent-violations' || (e.userId !== null && sample.includes(e.userId)),
        );
        expect(inScope, c).toEqual(sampled.categories[c].examples);
      }
    } finally {
      await exec(sql`UPDATE ${STATS} SET rating = ${rated.rating} WHERE id = ${rated.id}`);
      await exec(sql`UPDATE ${STATS} SET challenges = challenges + 1000 WHERE id IN (${counted.id}, ${outside.id})`);
      await exec(sql`UPDATE ${HISTORY} SET "mostRecent" = true WHERE id = ${flagged.id}`);
    }
  });

  it('every fault was restored: the unified tables are as backfilled and parity is clean again', async () => {
    const now = await unifiedChecksum(stack.dbs.members);
    expect(now).toEqual(clean);
    expect((await run(FULL)).passed).toBe(true);
  });

  it('gate: two clean samples with different seeds pass, the same seed twice does not, a data change voids the evidence', async () => {
    const gate = () => parityActivities({ config: stack.config, dbs: stack.dbs }).parityGate();
    // a well-behaved writer touches updatedAt: all evidence so far is on other data from here on
    await exec(sql`UPDATE ${STATS} SET "updatedAt" = now() WHERE id = (SELECT min(id) FROM ${STATS})`);
    expect((await gate()).passed).toBe(false);

    const small = await run({ mode: 'sample', samples: 30, seed: 'gate-small' });
    expect(small.passed).toBe(true);
    const small2 = await run({ mode: 'sample', samples: 30, seed: 'gate-small-2' });
    expect(small2.gate).toMatchObject({ passed: false, reason: expect.stringMatching(/fewer than 50 members/) });
    const a = await run({ mode: 'sample', samples: 50, seed: 'gate-a' });
    expect(a.gate.passed).toBe(false);
    const again = await run({ mode: 'sample', samples: 50, seed: 'gate-a' });
    expect(again.sampleHash).toBe(a.sampleHash);
    expect(again.gate.passed).toBe(false);
    const b = await run({ mode: 'sample', samples: 50, seed: 'gate-b' });
    expect(b.sampleHash).not.toBe(a.sampleHash);
    expect(b.gate).toMatchObject({ passed: true, evidenceIds: [again.evidenceId, b.evidenceId] });
    expect(await gate()).toMatchObject({ passed: true });

    // a member's profile edit is not something parity compares: the evidence still counts
    await exec(
      sql`UPDATE members."member" SET email = 'edited-' || email, country = 'Elsewhere' WHERE "userId" = (SELECT min("userId") FROM members."member")`,
    );
    expect(await gate()).toMatchObject({ passed: true });
    // a value changed without updatedAt still changes the watermark (content hash)
    await exec(sql`UPDATE ${STATS} SET wins = wins + 1 WHERE id = (SELECT min(id) FROM ${STATS})`);
    try {
      const stale = await gate();
      expect(stale.passed).toBe(false);
      expect(stale.stale).toBeGreaterThanOrEqual(3);
    } finally {
      await exec(sql`UPDATE ${STATS} SET wins = wins - 1 WHERE id = (SELECT min(id) FROM ${STATS})`);
    }
    // the same content again: the evidence taken on it counts again; one clean full run passes on its own
    expect((await gate()).passed).toBe(true);
    await exec(sql`UPDATE ${STATS} SET "updatedAt" = now() WHERE id = (SELECT min(id) FROM ${STATS})`);
    expect((await run(FULL)).gate).toMatchObject({ passed: true, reason: expect.stringMatching(/full run/) });
  });
});
