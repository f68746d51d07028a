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

  it('stores ratings that a rerate of the seeded sources reproduces exactly', async () => {
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
    const recomputed = new Map<string, number>();
    for (const stream of ['DEVELOPMENT', 'MARATHON_MATCH'] as const) {
      expect(events[stream].length).toBeGreaterThan(3);
      for (const h of replay(events[stream]).history) recomputed.set(`${h.challengeId}/${h.userId}`, h.newRating);
    }
    const stored = await rows(
      rdb,
      sql<{ challengeId: string; userId: string; newRating: number }>`
      SELECT cr."challengeId", cr."userId", cr."newRating" FROM reviews."challengeResult" cr
      JOIN challenges."Challenge" c ON c.id::text = cr."challengeId"
      JOIN challenges."ChallengeType" ty ON ty.id = c."typeId"
      WHERE cr.rated AND ty.name <> 'SRM'`,
    );
    expect(new Map(stored.map((r) => [`${r.challengeId}/${r.userId}`, r.newRating]))).toEqual(recomputed);
  });
});
