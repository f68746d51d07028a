import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { developmentParticipants, marathonParticipants, type ChallengeResultRow } from '../domain/rating/participants';
import type { MemberState } from '../domain/rating/replay';
import { endChallenge, openActiveChallenge } from '../scripts/autopilot/end-challenge';
import { LIVE_KINDS } from '../scripts/autopilot/kinds';
import { runSeed } from '../scripts/seed/index';
import { applyLegacyEvent } from '../scripts/seed/legacy-rating';
import { SOURCE_TABLES } from '../scripts/seed/source-schema';
import { openDatabases, type Databases } from '../store/db';
import { legacyHistory, legacyTracks } from '../store/members/legacy';
import { createTestDatabase, testConfig } from './support/db';

/**
 * Ending a challenge live, against three separate databases (members, challenges, reviews) seeded tiny: what each
 * database holds afterwards is derived here independently — from the rows before, the stored results and the API's
 * legacy read path — never from the autopilot's own bookkeeping.
 */

type Row = Record<string, unknown>;

async function rows<T = Row>(db: Kysely<any>, q: ReturnType<typeof sql<T>>): Promise<T[]> {
  return (await q.execute(db)).rows;
}

/** Every source table as id → row (JSON text), the ledger too. */
async function snapshot(dbs: Databases): Promise<Map<string, Map<string, string>>> {
  const out = new Map<string, Map<string, string>>();
  for (const t of SOURCE_TABLES) {
    const key = t.primaryKey.map((k) => `x.${JSON.stringify(k)}::text`).join(` || '/' || `);
    const r = await rows<{ k: string; v: string }>(
      dbs[t.db],
      sql`SELECT ${sql.raw(key)} AS k, to_jsonb(x)::text AS v FROM ${sql.table(`${t.schema}.${t.table}`)} x`,
    );
    out.set(t.table, new Map(r.map((x) => [x.k, x.v])));
  }
  const ledger = await rows<{ k: string; v: string }>(
    dbs.members,
    sql`SELECT "challengeId"::text AS k, to_jsonb(x)::text AS v FROM autopilot."endedChallenge" x`,
  ).catch(() => []);
  out.set('ledger', new Map(ledger.map((x) => [x.k, x.v])));
  return out;
}

/** Rows added, removed or changed per table. */
function diff(a: Map<string, Map<string, string>>, b: Map<string, Map<string, string>>) {
  const out: Record<string, { added: Row[]; changed: { before: Row; after: Row }[]; removed: number }> = {};
  for (const [table, before] of a) {
    const after = b.get(table)!;
    const added: Row[] = [];
    const changed: { before: Row; after: Row }[] = [];
    for (const [k, v] of after) {
      const old = before.get(k);
      if (old === undefined) added.push(JSON.parse(v));
      else if (old !== v) changed.push({ before: JSON.parse(old), after: JSON.parse(v) });
    }
    const removed = [...before.keys()].filter((k) => !after.has(k)).length;
    if (added.length || changed.length || removed) out[table] = { added, changed, removed };
  }
  return out;
}

async function maxCompletedEnd(dbs: Databases): Promise<number> {
  const [r] = await rows<{ t: Date }>(
    dbs.challenges,
    sql`SELECT max("endDate") AS t FROM challenges."Challenge" WHERE status = 'COMPLETED'`,
  );
  return r!.t.getTime();
}

async function setRated(dbs: Databases, challengeId: string): Promise<void> {
  await sql`DELETE FROM challenges."ChallengeMetadata" WHERE "challengeId" = ${challengeId}::uuid AND name IN ('rated', 'isRated', 'unrated')`.execute(
    dbs.challenges,
  );
  await sql`
    INSERT INTO challenges."ChallengeMetadata" (id, "challengeId", name, value)
    SELECT COALESCE(max(id), 0) + 1, ${challengeId}::uuid, 'rated', 'true' FROM challenges."ChallengeMetadata"`.execute(dbs.challenges);
}

async function storedResults(dbs: Databases, challengeId: string) {
  return rows<ChallengeResultRow & { rated: boolean; oldRating: number | null; newRating: number | null; ratingOrder: number | null }>(
    dbs.reviews,
    sql`SELECT "challengeId", "userId", placement, "finalScore", "validSubmission", rated, "oldRating", "newRating", "ratingOrder"
        FROM reviews."challengeResult" WHERE "challengeId" = ${challengeId}`,
  );
}

/** Each member's legacy Development-stream state and counts as the API's legacy read path shows them. */
async function legacyDevelop(dbs: Databases, userIds: number[]) {
  const out = new Map<
    number,
    { state: MemberState; challenges: number; wins: number; mostRecentEventDate: string | null; history: number }
  >();
  for (const id of userIds) {
    const t = (await legacyTracks(dbs.members, id)).find((x) => x.track === 'DEVELOPMENT' && x.type === 'Challenge');
    const history = (await legacyHistory(dbs.members, id)).filter(
      (h) => h.track === 'DEVELOPMENT' && h.type === 'Challenge' && h.rating !== null,
    );
    out.set(id, {
      // a rating without history rows (the seed's statsWithoutHistory) counts its item's challenges as ratings
      state: {
        rating: t?.rating ?? null,
        volatility: t?.volatility ?? null,
        timesRated: history.length || (t?.rating != null ? t.challenges : 0),
      },
      challenges: t?.challenges ?? 0,
      wins: t?.wins ?? 0,
      mostRecentEventDate: t?.mostRecentEventDate ?? null,
      history: history.length,
    });
  }
  return out;
}

async function developStreamIds(dbs: Databases): Promise<string[]> {
  const r = await rows<{ id: string }>(
    dbs.challenges,
    sql`SELECT c.id::text AS id FROM challenges."Challenge" c JOIN challenges."ChallengeType" t ON t.id = c."typeId"
        JOIN challenges."ChallengeTrack" tr ON tr.id = c."trackId" WHERE t.name IN ('Challenge', 'CODE') AND tr.track = 'DEVELOPMENT'`,
  );
  return r.map((x) => x.id);
}

describe('autopilot: ending a challenge in three separate databases', () => {
  let created: Awaited<ReturnType<typeof createTestDatabase>>[];
  let dbs: Databases;

  beforeAll(async () => {
    created = await Promise.all(['ap_members', 'ap_challenges', 'ap_reviews'].map((l) => createTestDatabase(l)));
    const [m, c, r] = created.map((d) => d.url) as [string, string, string];
    dbs = openDatabases(testConfig(m, { CHALLENGES_DB_URL: c, REVIEW_DB_URL: r }));
    expect(dbs.sameDatabase).toBe(false);
    await runSeed(dbs, { size: 'tiny', seed: 5 });
  });
  afterAll(async () => {
    await dbs?.close();
    await Promise.all((created ?? []).map((d) => d.drop()));
  });

  it('a rated Development challenge: COMPLETED after every other, its results and winners, the legacy rows of exactly its participants', async () => {
    const opened = await openActiveChallenge(dbs, { kind: 'dev', seed: 101 });
    await setRated(dbs, opened.challengeId);
    const everyone = (await rows<{ userId: number }>(dbs.members, sql`SELECT DISTINCT "userId" FROM members."memberDevelopStats"`)).map(
      (x) => x.userId,
    );
    const legacyBefore = await legacyDevelop(dbs, everyone);
    const [prior] = await rows<{ n: number }>(
      dbs.reviews,
      sql`SELECT COALESCE(max("ratingOrder"), 0) AS n FROM reviews."challengeResult" WHERE "challengeId" = ANY(${await developStreamIds(dbs)}::text[])`,
    );
    const latestBefore = await maxCompletedEnd(dbs);
    const before = await snapshot(dbs);

    const ended = await endChallenge(dbs, { challengeId: opened.challengeId, seed: 7, handCorrectionRate: 0 });
    expect(ended).toMatchObject({
      challengeId: opened.challengeId,
      created: false,
      alreadyEnded: false,
      rated: true,
      stream: 'DEVELOPMENT',
    });
    expect(ended.participants.length).toBeGreaterThan(1);
    const d = diff(before, await snapshot(dbs));
    expect(Object.keys(d).sort()).toEqual(
      [
        'Challenge',
        'ChallengeWinner',
        'challengeResult',
        'ledger',
        'memberDevelopHistoryStats',
        'memberDevelopStats',
        'memberDevelopStatsItem',
        ...('memberHistoryStats' in d ? ['memberHistoryStats'] : []),
      ].sort(),
    );
    expect(Object.values(d).every((t) => t.removed === 0)).toBe(true);

    // challenges: the challenge COMPLETED, ending after every other completed one; its winners
    const [ch] = await rows<{ status: string; endDate: Date }>(
      dbs.challenges,
      sql`SELECT status, "endDate" FROM challenges."Challenge" WHERE id = ${opened.challengeId}::uuid`,
    );
    expect(ch!.status).toBe('COMPLETED');
    expect(ch!.endDate.getTime()).toBe(ended.endDate.getTime());
    expect(ch!.endDate.getTime()).toBeGreaterThan(latestBefore);
    expect(ch!.endDate.getTime()).toBe(await maxCompletedEnd(dbs));
    expect(d.Challenge!.changed).toHaveLength(1);
    const winners = d.ChallengeWinner!.added as { userId: number; placement: number; type: string; challengeId: string }[];
    expect(winners.map((w) => w.userId)).toEqual(ended.winners);
    expect(winners.every((w) => w.challengeId === opened.challengeId && ended.participants.includes(w.userId))).toBe(true);
    expect(winners.filter((w) => w.type === 'PLACEMENT').map((w) => w.placement)).toContain(1);

    // reviews: one challengeResult per participant (a Development challenge has no submissions)
    const results = await storedResults(dbs, opened.challengeId);
    expect(results.map((r) => Number(r.userId)).sort()).toEqual([...ended.participants].sort());
    expect(d.challengeResult!.added).toHaveLength(results.length);
    expect(d.challengeResult!.changed).toHaveLength(0);

    // the legacy rating recomputed here: our rules' participants, the old process, the read path's state before
    const rated = developmentParticipants(opened.challengeId, results);
    const states = new Map([...legacyBefore].map(([id, x]) => [String(id), { ...x.state }]));
    const expected = new Map(
      applyLegacyEvent({ challengeId: opened.challengeId, endDate: ended.endDate, participants: rated }, states, () => 0).map((h) => [
        h.userId,
        h,
      ]),
    );
    expect(expected.size).toBe(ended.ratedMembers);
    for (const r of results) {
      const h = expected.get(r.userId);
      expect({ userId: r.userId, rated: r.rated, old: r.oldRating, new: r.newRating, order: r.ratingOrder }).toEqual({
        userId: r.userId,
        rated: h !== undefined,
        old: h?.oldRating ?? null,
        new: h?.newRating ?? null,
        order: h ? prior!.n + 1 : null,
      });
    }

    // legacy: participants' challenges +1, the winner's wins +1, the new rating and a history row; nobody else touched
    const legacyAfter = await legacyDevelop(dbs, ended.participants);
    const firstPlace = new Set(winners.filter((w) => w.placement === 1).map((w) => w.userId));
    for (const id of ended.participants) {
      const b = legacyBefore.get(id) ?? { state: { rating: null, volatility: null, timesRated: 0 }, challenges: 0, wins: 0, history: 0 };
      const a = legacyAfter.get(id)!;
      const h = expected.get(String(id));
      expect({
        id,
        challenges: a.challenges,
        wins: a.wins,
        event: a.mostRecentEventDate,
        rating: a.state.rating,
        history: a.history,
      }).toEqual({
        id,
        challenges: b.challenges + 1,
        wins: b.wins + (firstPlace.has(id) ? 1 : 0),
        event: ended.endDate.toISOString(),
        rating: h ? h.newRating : b.state.rating,
        history: b.history + (h ? 1 : 0),
      });
    }
    const historyRows = d.memberDevelopHistoryStats!.added as {
      challengeId: number;
      newRating: number;
      ratingDate: string;
      subTrack: string;
    }[];
    expect(historyRows).toHaveLength(expected.size);
    expect(historyRows.every((r) => r.challengeId === opened.legacyId && r.subTrack === 'DEVELOPMENT')).toBe(true);
    expect(historyRows.every((r) => Date.parse(r.ratingDate) === ended.endDate.getTime())).toBe(true);

    const owner = new Map<unknown, unknown>();
    for (const v of [...before.get('memberDevelopStats')!.values(), ...d.memberDevelopStats!.added.map((x) => JSON.stringify(x))]) {
      const p = JSON.parse(v) as Row;
      owner.set(p.id, p.userId);
    }
    const touched = [
      ...d.memberDevelopStats!.changed.map((c) => c.after.userId),
      ...d.memberDevelopStats!.added.map((r) => r.userId),
      ...d.memberDevelopStatsItem!.changed.map((c) => owner.get(c.after.developStatsId)),
      ...d.memberDevelopStatsItem!.added.map((r) => owner.get(r.developStatsId)),
    ];
    expect(new Set(touched)).toEqual(new Set(ended.participants));
    expect(d.memberDevelopStatsItem!.changed.every((c) => c.after.name === 'DEVELOPMENT')).toBe(true);
  });

  it('ending it again changes nothing and says so', async () => {
    const opened = await openActiveChallenge(dbs, { kind: 'design', seed: 102 });
    const first = await endChallenge(dbs, { challengeId: opened.challengeId, seed: 8 });
    const before = await snapshot(dbs);
    const again = await endChallenge(dbs, { challengeId: opened.challengeId, seed: 9 });
    expect(again).toMatchObject({ challengeId: opened.challengeId, alreadyEnded: true, legacy: { items: 0, history: 0 } });
    expect(again.endDate.getTime()).toBe(first.endDate.getTime());
    expect([...again.participants].sort()).toEqual([...first.participants].sort());
    expect(diff(before, await snapshot(dbs))).toEqual({});
    // and a challenge that is neither ACTIVE nor COMPLETED is refused
    await sql`UPDATE challenges."Challenge" SET status = 'CANCELLED_FAILED_REVIEW' WHERE id = ${opened.challengeId}::uuid`.execute(
      dbs.challenges,
    );
    await expect(endChallenge(dbs, { challengeId: opened.challengeId })).rejects.toThrow(/CANCELLED_FAILED_REVIEW/);
    await sql`UPDATE challenges."Challenge" SET status = 'COMPLETED' WHERE id = ${opened.challengeId}::uuid`.execute(dbs.challenges);
  });

  it('a rated Marathon Match: submissions and review summations the rating rules read, ratings and Marathon stats of the rated', async () => {
    const [round] = await rows<{ n: number }>(
      dbs.challenges,
      sql`SELECT max((regexp_match(name, '^Marathon Match ([0-9]+)$'))[1]::int) AS n FROM challenges."Challenge"`,
    );
    const opened = await openActiveChallenge(dbs, { kind: 'mm', seed: 103 });
    expect(opened.name).toBe(`Marathon Match ${round!.n + 1}`);
    await setRated(dbs, opened.challengeId);
    const before = await snapshot(dbs);
    const ended = await endChallenge(dbs, { challengeId: opened.challengeId, seed: 10, handCorrectionRate: 0 });
    expect(ended).toMatchObject({ rated: true, stream: 'MARATHON_MATCH' });
    const d = diff(before, await snapshot(dbs));
    const subs = await rows<{
      id: string;
      challengeId: string;
      memberId: string;
      status: string;
      finalScore: number | null;
      submittedDate: Date;
    }>(
      dbs.reviews,
      sql`SELECT id::text AS id, "challengeId", "memberId", status, "finalScore", "submittedDate" FROM reviews.submission WHERE "challengeId" = ${opened.challengeId}`,
    );
    const sums = await rows<{ id: string; submissionId: string; aggregateScore: number | null; isFinal: boolean | null; createdAt: Date }>(
      dbs.reviews,
      sql`SELECT id::text AS id, "submissionId"::text AS "submissionId", "aggregateScore", "isFinal", "createdAt" FROM reviews."reviewSummation"
          WHERE "submissionId" = ANY(${subs.map((s) => s.id)}::uuid[])`,
    );
    expect(subs.length).toBeGreaterThanOrEqual(ended.participants.length);
    expect(d.submission!.added).toHaveLength(subs.length);
    expect(d.reviewSummation!.added).toHaveLength(sums.length);
    expect(new Set(subs.map((s) => Number(s.memberId)))).toEqual(new Set(ended.participants));
    // reviews are in before the challenge ends
    expect(sums.every((s) => s.createdAt.getTime() < ended.endDate.getTime())).toBe(true);
    const results = await storedResults(dbs, opened.challengeId);
    const ratedBy = marathonParticipants(opened.challengeId, subs, sums, results);
    expect(new Set(results.filter((r) => r.rated).map((r) => r.userId))).toEqual(new Set(ratedBy.map((p) => p.userId)));

    const history = d.memberDataScienceHistoryStats!.added as {
      challengeId: number;
      challengeName: string;
      rating: number;
      placement: number;
    }[];
    expect(history).toHaveLength(ratedBy.length);
    expect(history.every((h) => h.challengeId === opened.legacyId && h.challengeName === opened.name)).toBe(true);
    const placementOf = new Map(ratedBy.map((p) => [p.userId, p.placement]));
    for (const id of ended.participants) {
      const mm = (await legacyTracks(dbs.members, id)).find((t) => t.track === 'DATA_SCIENCE' && t.type === 'Marathon Match')!;
      const r = results.find((x) => Number(x.userId) === id)!;
      expect(mm.mostRecentEventDate).toBe(ended.endDate.toISOString());
      if (r.rated) {
        expect(mm.rating).toBe(r.newRating);
        expect(mm.bestRank).toBeLessThanOrEqual(placementOf.get(String(id))!);
      }
    }
    const changed = d.memberMarathonStats!.changed.map((c) => ({ b: c.before, a: c.after }));
    for (const { b, a } of changed) {
      expect(a.challenges).toBe((b.challenges as number) + 1);
      expect(a.mostRecentEventName).toBe(opened.name);
    }
  });

  it('a crash between the databases commits is repaired by ending again: legacy counted once, the applied outcome kept', async () => {
    const opened = await openActiveChallenge(dbs, { kind: 'design', seed: 104 });
    const fail = (db: Kysely<any>, table: string) =>
      sql`
        CREATE OR REPLACE FUNCTION public.autopilot_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'injected failure'; END $$;
        CREATE TRIGGER autopilot_test_fail BEFORE INSERT OR UPDATE ON ${sql.table(table)} FOR EACH ROW EXECUTE FUNCTION public.autopilot_test_fail();
      `.execute(db);
    const heal = (db: Kysely<any>, table: string) => sql`DROP TRIGGER autopilot_test_fail ON ${sql.table(table)}`.execute(db);
    const before = await snapshot(dbs);
    const resultsOf = () => storedResults(dbs, opened.challengeId);

    // 1. the members database fails after the results were committed: the challenge stays ACTIVE, no legacy rows
    await fail(dbs.members, 'members.memberDesignStats');
    await expect(endChallenge(dbs, { challengeId: opened.challengeId, seed: 20 })).rejects.toThrow(/injected failure/);
    await heal(dbs.members, 'members.memberDesignStats');
    const first = await resultsOf();
    expect(first.length).toBeGreaterThan(0);
    let d = diff(before, await snapshot(dbs));
    expect(Object.keys(d)).toEqual(['challengeResult']);

    // 2. the challenges database fails after the legacy rows were committed: the ledger holds what was applied
    await fail(dbs.challenges, 'challenges.ChallengeWinner');
    await expect(endChallenge(dbs, { challengeId: opened.challengeId, seed: 21 })).rejects.toThrow(/injected failure/);
    await heal(dbs.challenges, 'challenges.ChallengeWinner');
    const second = await resultsOf();
    // the results of attempt 2 replaced the leftovers of attempt 1
    expect(second).not.toEqual(first);
    d = diff(before, await snapshot(dbs));
    expect(d.Challenge).toBeUndefined();
    expect(d.memberDesignStatsItem).toBeDefined();

    // 3. ending again finishes from the ledger: same results, legacy counted exactly once, COMPLETED
    const done = await endChallenge(dbs, { challengeId: opened.challengeId, seed: 22 });
    expect(done.alreadyEnded).toBe(false);
    expect(await resultsOf()).toEqual(second);
    d = diff(before, await snapshot(dbs));
    expect(d.Challenge!.changed[0]!.after.status).toBe('COMPLETED');
    expect(d.ChallengeWinner!.added.map((w) => w.userId)).toEqual(done.winners);
    for (const { before: b, after: a } of d.memberDesignStats?.changed ?? []) expect(a.challenges).toBe((b.challenges as number) + 1);
    for (const a of d.memberDesignStats?.added ?? []) expect(a.challenges).toBe(1);
    expect((d.memberDesignStats?.changed.length ?? 0) + (d.memberDesignStats?.added.length ?? 0)).toBe(done.participants.length);
  });

  it('concurrent endings, from one process and from two: each challenge ends once, in order, with its own ids and rating order', async () => {
    const [m, c, r] = created.map((x) => x.url) as [string, string, string];
    const other = openDatabases(testConfig(m, { CHALLENGES_DB_URL: c, REVIEW_DB_URL: r }), 2);
    try {
      const [winnersBefore] = await rows<{ n: number }>(dbs.challenges, sql`SELECT count(*)::int AS n FROM challenges."ChallengeWinner"`);
      const all = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          endChallenge(i % 2 === 0 ? dbs : other, { seed: 1000 + i, kind: i % 3 === 0 ? 'dev' : undefined }),
        ),
      );
      expect(new Set(all.map((e) => e.challengeId)).size).toBe(12);
      expect(all.every((e) => e.created && !e.alreadyEnded)).toBe(true);
      const ends = all.map((e) => e.endDate.getTime()).sort((a, b) => a - b);
      expect(new Set(ends).size).toBe(12);
      const [winnersAfter] = await rows<{ n: number; ids: number }>(
        dbs.challenges,
        sql`SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM challenges."ChallengeWinner"`,
      );
      expect(winnersAfter!.n - winnersBefore!.n).toBe(all.reduce((n, e) => n + e.winners.length, 0));
      expect(winnersAfter!.ids).toBe(winnersAfter!.n);
      // one rating order per rated event of a stream, never shared
      const orders = await rows<{ challengeId: string; o: number }>(
        dbs.reviews,
        sql`SELECT DISTINCT "challengeId", "ratingOrder" AS o FROM reviews."challengeResult"
            WHERE "challengeId" = ANY(${all.filter((e) => e.stream === 'DEVELOPMENT' && e.ratedMembers > 0).map((e) => e.challengeId)}::text[]) AND rated`,
      );
      expect(new Set(orders.map((x) => x.o)).size).toBe(orders.length);
      // the order of the rating stream follows the order of the end dates
      const endOf = new Map(all.map((e) => [e.challengeId, e.endDate.getTime()]));
      const byOrder = [...orders].sort((a, b) => a.o - b.o).map((x) => endOf.get(x.challengeId)!);
      expect(byOrder).toEqual([...byOrder].sort((a, b) => a - b));
    } finally {
      await other.close();
    }
  });

  it('without an ACTIVE challenge a new one is opened like the calendar and ended; end dates never go back', async () => {
    const [active] = await rows<{ n: number }>(
      dbs.challenges,
      sql`SELECT count(*)::int AS n FROM challenges."Challenge" WHERE status = 'ACTIVE'`,
    );
    expect(active!.n).toBe(0);
    const [legacy] = await rows<{ id: number }>(dbs.challenges, sql`SELECT max("legacyId")::bigint AS id FROM challenges."Challenge"`);
    const latest = await maxCompletedEnd(dbs);
    // a clock that went back: the end date still follows the latest completed one
    const e = await endChallenge(dbs, { seed: 11, now: () => latest - 86_400_000 });
    expect(e.created).toBe(true);
    expect(e.endDate.getTime()).toBe(latest + 1);
    expect(e.legacyId).toBeGreaterThan(legacy!.id);
    expect(LIVE_KINDS.map((k) => k.key)).toContain(e.kind);
    const [row] = await rows<{ status: string; name: string; type: string; track: string }>(
      dbs.challenges,
      sql`SELECT c.status, c.name, t.name AS type, tr.track FROM challenges."Challenge" c JOIN challenges."ChallengeType" t ON t.id = c."typeId"
          JOIN challenges."ChallengeTrack" tr ON tr.id = c."trackId" WHERE c.id = ${e.challengeId}::uuid`,
    );
    expect(row!.status).toBe('COMPLETED');
    const kind = LIVE_KINDS.find((k) => k.key === e.kind)!;
    expect(row!.type).toBe(kind.type);
    const results = await storedResults(dbs, e.challengeId);
    expect(results.length).toBe(e.participants.length);
    // a Marathon Match opened for want of ACTIVE ones takes the next round's name
    const [round] = await rows<{ n: number }>(
      dbs.challenges,
      sql`SELECT max((regexp_match(name, '^Marathon Match ([0-9]+)$'))[1]::int) AS n FROM challenges."Challenge"`,
    );
    const mm = await endChallenge(dbs, { seed: 12, kind: 'mm' });
    expect(mm).toMatchObject({ created: true, kind: 'mm', name: `Marathon Match ${round!.n + 1}` });
    expect(mm.endDate.getTime()).toBeGreaterThan(e.endDate.getTime());
  });
});
