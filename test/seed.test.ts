import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CATALOG_LOOKUP,
  DEFAULT_MISSING_RATED_POLICY,
  developmentParticipants,
  marathonParticipants,
  ratedStreamOf,
  type ChallengeMetadataRow,
  type ChallengeResultRow,
  type ChallengeRow,
  type ReviewSummationRow,
  type SubmissionRow,
} from '../domain/rating/participants';
import { replay, type RatedEvent } from '../domain/rating/replay';
import { applyLegacyEvent } from '../scripts/seed/legacy-rating';
import { openDatabases, type Databases } from '../store/db';
import { countAnomalies, runSeed, type SeedSummary } from '../scripts/seed/index';
import { SOURCE_TABLES } from '../scripts/seed/source-schema';
import { createTestDatabase, testConfig } from './support/db';

type TestDb = { dbs: Databases; drop(): Promise<void> };

async function freshDatabase(label: string): Promise<TestDb> {
  const created = await createTestDatabase(label);
  const dbs = openDatabases(testConfig(created.url));
  return {
    dbs,
    async drop() {
      await dbs.close();
      await created.drop();
    },
  };
}

/** One md5 per source table over all its rows in a canonical order. */
async function checksums(dbs: Databases): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of SOURCE_TABLES) {
    const { rows } = await sql<{ sum: string }>`
      SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS sum FROM ${sql.table(`${t.schema}.${t.table}`)} x`.execute(
      dbs[t.db],
    );
    out[`${t.schema}.${t.table}`] = rows[0]!.sum;
  }
  return out;
}

async function rows<T>(db: Kysely<any>, query: ReturnType<typeof sql<T>>): Promise<T[]> {
  return (await query.execute(db)).rows;
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = out.get(k);
    if (list) list.push(it);
    else out.set(k, [it]);
  }
  return out;
}

describe('seed generator', () => {
  let a: TestDb;
  let b: TestDb;
  let c: TestDb;
  let summaryA: SeedSummary;
  let summaryB: SeedSummary;

  beforeAll(async () => {
    [a, b, c] = await Promise.all([freshDatabase('seed_a'), freshDatabase('seed_b'), freshDatabase('seed_c')]);
    summaryA = await runSeed(a.dbs, { size: 'tiny', seed: 11 });
    summaryB = await runSeed(b.dbs, { size: 'tiny', seed: 11 });
  });

  afterAll(async () => {
    await Promise.all([a, b, c].filter(Boolean).map((d) => d.drop()));
  });

  it('gives the same tables for the same seed, and different ones for another seed', async () => {
    const sumsA = await checksums(a.dbs);
    expect(await checksums(b.dbs)).toEqual(sumsA);
    expect(summaryB.rows).toEqual(summaryA.rows);
    expect(summaryB.anomalies).toEqual(summaryA.anomalies);

    await runSeed(c.dbs, { size: 'tiny', seed: 12 });
    const sumsC = await checksums(c.dbs);
    const differing = Object.keys(sumsA).filter((t) => sumsA[t] !== sumsC[t]);
    // the catalogue is fixed; every generated table differs
    expect(differing.sort()).toEqual(
      Object.keys(sumsA)
        .filter((t) => !/ChallengeTrack|ChallengeType/.test(t))
        .sort(),
    );
  });

  it('replaces its own tables on a re-seed and leaves ours alone', async () => {
    await sql`CREATE TABLE members."memberStats" ("userId" BIGINT PRIMARY KEY, rating INT)`.execute(c.dbs.members);
    await sql`INSERT INTO members."memberStats" VALUES (1, 1500)`.execute(c.dbs.members);
    await runSeed(c.dbs, { size: 'tiny', seed: 11 });
    expect(await checksums(c.dbs)).toEqual(await checksums(a.dbs));
    const kept = await rows(c.dbs.members, sql<{ n: number }>`SELECT count(*)::int AS n FROM members."memberStats"`);
    expect(kept[0]!.n).toBe(1);
  });

  it('seeds three separate databases to the same data as one', async () => {
    const created = await Promise.all(['seed_m', 'seed_ch', 'seed_r'].map((l) => createTestDatabase(l)));
    const [m, ch, r] = created.map((d) => d.url) as [string, string, string];
    const dbs = openDatabases(testConfig(m, { CHALLENGES_DB_URL: ch, REVIEW_DB_URL: r }));
    try {
      expect(dbs.sameDatabase).toBe(false);
      const summary = await runSeed(dbs, { size: 'tiny', seed: 11 });
      expect(summary.rows).toEqual(summaryA.rows);
      expect(await checksums(dbs)).toEqual(await checksums(a.dbs));
      expect(await countAnomalies(dbs)).toEqual(summaryA.anomalies);
      const [stray] = await rows(
        dbs.reviews,
        sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname IN ('members', 'challenges')`,
      );
      expect(stray!.n).toBe(0);
    } finally {
      await dbs.close();
      await Promise.all(created.map((d) => d.drop()));
    }
  });

  it('reports row counts that match the tables', async () => {
    for (const t of SOURCE_TABLES) {
      const key = `${t.schema}.${t.table}`;
      const [row] = await rows(a.dbs[t.db], sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(key)}`);
      expect({ table: key, n: row!.n }).toEqual({ table: key, n: summaryA.rows[key] });
    }
    expect(summaryA.rows['members.member']).toBeGreaterThan(150);
    expect(summaryA.rows['reviews.challengeResult']).toBeGreaterThan(500);
  });

  it('injects every anomaly kind, at the counts its SQL definition finds', async () => {
    for (const [kind, n] of Object.entries(summaryA.anomalies)) expect({ kind, n: n > 0 }).toEqual({ kind, n: true });
    expect(await countAnomalies(a.dbs)).toEqual(summaryA.anomalies);
    // rates stay realistic: the row-level kinds are a few percent of challengeResult at most
    const results = summaryA.rows['reviews.challengeResult']!;
    for (const kind of ['scorePlaceholder', 'partialPlacement', 'invalidSubmission']) {
      expect(summaryA.anomalies[kind]! / results).toBeLessThan(0.05);
    }
  });

  it('keeps legacy items consistent with the latest legacy history row', async () => {
    const db = a.dbs.members;
    const [dev] = await rows(
      db,
      sql<{ checked: number; mismatched: number }>`
      WITH latest AS (
        SELECT DISTINCT ON (hs."userId", h."subTrack") hs."userId", h."subTrack", h."newRating"
        FROM members."memberDevelopHistoryStats" h JOIN members."memberHistoryStats" hs ON hs.id = h."historyStatsId"
        ORDER BY hs."userId", h."subTrack", h."ratingDate" DESC, h.id DESC)
      SELECT count(*)::int AS checked,
             count(*) FILTER (WHERE i.rating IS DISTINCT FROM l."newRating")::int AS mismatched
      FROM latest l
      LEFT JOIN members."memberDevelopStats" s ON s."userId" = l."userId"
      LEFT JOIN members."memberDevelopStatsItem" i ON i."developStatsId" = s.id AND i.name = l."subTrack"`,
    );
    expect(dev!.checked).toBeGreaterThan(10);
    expect(dev!.mismatched).toBe(0);

    const [mm] = await rows(
      db,
      sql<{ checked: number; mismatched: number }>`
      WITH latest AS (
        SELECT DISTINCT ON (hs."userId") hs."userId", h.rating
        FROM members."memberDataScienceHistoryStats" h JOIN members."memberHistoryStats" hs ON hs.id = h."historyStatsId"
        WHERE h."subTrack" = 'MARATHON_MATCH'
        ORDER BY hs."userId", h.date DESC, h.id DESC)
      SELECT count(*)::int AS checked, count(*) FILTER (WHERE x.rating IS DISTINCT FROM l.rating)::int AS mismatched
      FROM latest l
      LEFT JOIN members."memberDataScienceStats" s ON s."userId" = l."userId"
      LEFT JOIN members."memberMarathonStats" x ON x."dataScienceStatsId" = s.id`,
    );
    expect(mm!.checked).toBeGreaterThan(3);
    expect(mm!.mismatched).toBe(0);

    // legacy Development history agrees with challengeResult.newRating of the same event
    const [joined] = await rows(
      db,
      sql<{ checked: number; mismatched: number }>`
      SELECT count(*)::int AS checked,
             count(*) FILTER (WHERE cr."newRating" IS DISTINCT FROM h."newRating" OR cr.rated IS NOT TRUE)::int AS mismatched
      FROM members."memberDevelopHistoryStats" h
      JOIN members."memberHistoryStats" hs ON hs.id = h."historyStatsId"
      JOIN challenges."Challenge" c ON c."legacyId" = h."challengeId"
      LEFT JOIN reviews."challengeResult" cr ON cr."challengeId" = c.id::text AND cr."userId" = hs."userId"::text`,
    );
    expect(joined!.checked).toBeGreaterThan(10);
    expect(joined!.mismatched).toBe(0);
  });

  it('stores legacy ratings our engine did not write: recorded for the legacy era only, matching the legacy history', async () => {
    const { challenges: cdb, reviews: rdb } = a.dbs;
    const challenges = await rows(
      cdb,
      sql<ChallengeRow>`SELECT id, name, "typeId", "trackId", status, "legacyId", "endDate" FROM challenges."Challenge"`,
    );
    const metadata = groupBy(
      await rows(cdb, sql<ChallengeMetadataRow>`SELECT "challengeId", name, value FROM challenges."ChallengeMetadata"`),
      (m) => m.challengeId,
    );
    const results = groupBy(
      await rows(
        rdb,
        sql<ChallengeResultRow>`SELECT "challengeId", "userId", placement, "finalScore", "validSubmission" FROM reviews."challengeResult"`,
      ),
      (r) => r.challengeId,
    );
    const submissions = groupBy(
      await rows(
        rdb,
        sql<SubmissionRow>`SELECT id, "challengeId", "memberId", status, "finalScore", "submittedDate" FROM reviews.submission`,
      ),
      (s) => s.challengeId ?? '',
    );
    const summations = groupBy(
      await rows(
        rdb,
        sql<ReviewSummationRow>`SELECT id, "submissionId", "aggregateScore", "isFinal", "createdAt" FROM reviews."reviewSummation"`,
      ),
      (s) => s.submissionId,
    );
    const events: Record<'DEVELOPMENT' | 'MARATHON_MATCH', RatedEvent[]> = { DEVELOPMENT: [], MARATHON_MATCH: [] };
    for (const ch of challenges) {
      const stream = ratedStreamOf(ch, metadata.get(ch.id) ?? [], DEFAULT_MISSING_RATED_POLICY, CATALOG_LOOKUP);
      if (!stream) continue;
      const res = results.get(ch.id) ?? [];
      const subs = submissions.get(ch.id) ?? [];
      const participants =
        stream === 'DEVELOPMENT'
          ? developmentParticipants(ch.id, res)
          : marathonParticipants(
              ch.id,
              subs,
              subs.flatMap((s) => summations.get(s.id) ?? []),
              res,
            );
      if (participants.length) events[stream].push({ challengeId: ch.id, endDate: ch.endDate!, participants });
    }
    // our engine over the same legacy-era events: the old process (older port, hand corrections) differs
    const recomputed = new Map<string, number>();
    for (const stream of ['DEVELOPMENT', 'MARATHON_MATCH'] as const) {
      const legacyEra = events[stream].filter((e) => e.endDate.getTime() <= Date.parse(summaryA.legacyEnd));
      expect(legacyEra.length).toBeGreaterThan(3);
      // and rated challenges came after it (Development is busy enough to have some in any size)
      if (stream === 'DEVELOPMENT') expect(legacyEra.length).toBeLessThan(events[stream].length);
      for (const h of replay(legacyEra).history) recomputed.set(`${h.challengeId}/${h.userId}`, h.newRating);
    }
    const stored = await rows(
      rdb,
      sql<{ challengeId: string; userId: string; newRating: number; endDate: Date }>`
      SELECT cr."challengeId", cr."userId", cr."newRating", c."endDate" FROM reviews."challengeResult" cr
      JOIN challenges."Challenge" c ON c.id::text = cr."challengeId"
      JOIN challenges."ChallengeType" ty ON ty.id = c."typeId"
      WHERE cr.rated AND ty.name <> 'SRM'`,
    );
    // the same participants were rated (our rules chose them), only in the legacy era
    expect(new Set(stored.map((r) => `${r.challengeId}/${r.userId}`))).toEqual(new Set(recomputed.keys()));
    expect(stored.every((r) => r.endDate.getTime() <= Date.parse(summaryA.legacyEnd))).toBe(true);
    const differ = stored.filter((r) => recomputed.get(`${r.challengeId}/${r.userId}`) !== r.newRating).length;
    expect(differ / stored.length).toBeGreaterThan(0.05);
    // the legacy history holds the same numbers as the recorded results of the legacy era
    const history = await rows(
      a.dbs.members,
      sql<{ challengeId: string; userId: number; rating: number }>`
      SELECT c.id::text AS "challengeId", h."userId", d."newRating" AS rating
      FROM members."memberHistoryStats" h JOIN members."memberDevelopHistoryStats" d ON d."historyStatsId" = h.id
      JOIN challenges."Challenge" c ON c."legacyId" = d."challengeId"`,
    );
    const byKey = new Map(stored.map((r) => [`${r.challengeId}/${r.userId}`, r.newRating]));
    expect(history.length).toBeGreaterThan(10);
    for (const h of history) expect(byKey.get(`${h.challengeId}/${h.userId}`), `${h.challengeId}/${h.userId}`).toBe(h.rating);
  });

  it('the legacy process is the older port: a > 2500 weight boundary (2458 where our engine gives 2461)', () => {
    const states = new Map([
      ['hi', { rating: 2500, volatility: 250, timesRated: 10 }],
      ['lo', { rating: 2400, volatility: 250, timesRated: 10 }],
    ]);
    const rows = applyLegacyEvent(
      {
        challengeId: 'v2',
        endDate: new Date(0),
        participants: [
          { userId: 'hi', score: 0 },
          { userId: 'lo', score: 100 },
        ],
      },
      states,
      () => 0,
    );
    expect(rows.find((r) => r.userId === 'hi')!.newRating).toBe(2458);
    // vector 1 has a newcomer: the old port rates them against already-updated ratings, so 1821 does not come out
    const v1 = new Map([
      ['a', { rating: 1800, volatility: 300, timesRated: 5 }],
      ['b', { rating: 2200, volatility: 250, timesRated: 8 }],
      ['d', { rating: 1500, volatility: 400, timesRated: 3 }],
    ]);
    const out = applyLegacyEvent(
      {
        challengeId: 'v1',
        endDate: new Date(0),
        participants: [
          { userId: 'a', score: 90 },
          { userId: 'b', score: 80 },
          { userId: 'c', score: 100 },
          { userId: 'd', score: 70 },
        ],
      },
      v1,
      () => 0,
    );
    expect([out[0]!.newRating, out[1]!.newRating, out[3]!.newRating]).toEqual([1927, 2130, 1447]);
    expect(out[2]!.newRating).not.toBe(1821);
    expect(out[2]!.newVolatility).toBe(385);
  });
});
