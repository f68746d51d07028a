import { WorkflowFailedError } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { backfillActivities } from '../activities/backfill';
import { BackfillOptions, batchPlanOf, type BackfillPlan, type BatchResult } from '../domain/backfill';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRACKS, TYPES, type TrackName, type TypeName } from '../domain/catalog';
import {
  challengeKey,
  DEVELOP_ITEM_KEYS,
  DEVELOP_RATED_KEY,
  designItemKey,
  MARATHON_KEY,
  SRM_KEY,
  type UnifiedKey,
} from '../domain/mapping';
import type { Stack } from '../lib/stack';
import { backfillProgress, pauseSignal, resumeSignal, setConcurrency } from '../workflows/backfill/messages';
import { loadCatalog } from '../store/catalog';
import { legacyTracks } from '../store/members/legacy';
import { developReplay } from '../store/backfill/develop-replay';
import { backfilledState, clearUnified, runTestBackfill, startTestBackfill, unifiedChecksum } from './support/backfill';
import { createTestDatabase } from './support/db';
import { failureText } from './support/failure';
import { seededStack, withOtherStack } from './support/stack';
import { runTestParity } from './support/parity';
import { collectStatus, formatStatus } from '../scripts/commands/status';

const trackId = (t: TrackName) => TRACKS.find((x) => x.track === t)!.id;
const typeId = (t: TypeName) => TYPES.find((x) => x.name === t)!.id;
const keyOf = (userId: number, k: UnifiedKey) => `${userId}/${trackId(k.track)}/${typeId(k.type)}`;

interface Expected {
  challenges: number;
  wins: number;
  rating: number | null;
  volatility: number | null;
  maxRating: number | null;
  minRating: number | null;
  globalRank: number | null;
  countryRank: number | null;
  schoolRank: number | null;
}

/** Development stream rows whose stats rating is not the newRating of their latest rated history row. */
async function streamRatingDisagreements(db: Kysely<any>): Promise<Array<{ userId: number; rating: number | null; top: number | null }>> {
  const r = await sql<{ userId: number; rating: number | null; top: number | null }>`
    SELECT s."userId", s.rating, t."newRating" AS top FROM members."memberStats" s
    JOIN LATERAL (SELECT h."newRating" FROM members."memberStatsHistory" h
                  WHERE h."userId" = s."userId" AND h."trackId" = s."trackId" AND h."typeId" = s."typeId" AND h."newRating" IS NOT NULL
                  ORDER BY h."eventDate" DESC, h."challengeId" DESC LIMIT 1) t ON true
    WHERE s."trackId" = ${trackId('DEVELOPMENT')} AND s."typeId" = ${typeId('Challenge')} AND s.rating IS DISTINCT FROM t."newRating"`.execute(
    db,
  );
  return r.rows;
}

/**
 * What the unified stats must be after a backfill without the rating continuation (--skip-rerate), computed
 * independently from the source tables with the runbook's rules: legacy rows preserved (the Development stream's
 * items on one key: counts summed, the latest rated item's rating fields, max/min over both), supplemented by
 * completed challenges after legacy's last event on the key (all of them where legacy has no row), results first,
 * else winners. Duplicate parent rows: the most recent.
 */
async function expectedStats(stack: Stack): Promise<Map<string, Expected & { at: number | null }>> {
  const db = stack.dbs.members;
  type Row = Expected & { at: number | null };
  const out = new Map<string, Row>();
  const put = (k: string, e: Row) => {
    const prev = out.get(k);
    if (!prev || (e.at ?? -1) > (prev.at ?? -1)) out.set(k, e); // duplicate parent rows: the most recent
  };
  const dev = await sql<any>`
    SELECT ds.id AS parent, ds."userId", i.* FROM members."memberDevelopStats" ds JOIN members."memberDevelopStatsItem" i ON i."developStatsId" = ds.id
    JOIN members."member" m ON m."userId" = ds."userId"`.execute(db);
  const devGroups = new Map<string, any[]>();
  for (const r of dev.rows) {
    const key = DEVELOP_ITEM_KEYS[r.name];
    if (!key) continue;
    const g = `${r.parent}|${keyOf(r.userId, key)}`;
    devGroups.set(g, [...(devGroups.get(g) ?? []), r]);
  }
  // the stream's current item: the sub-track of the member's latest rated legacy history row (else the latest item)
  const lastHistory = await sql<{ userId: number; subTrack: string }>`
    SELECT DISTINCT ON (h."userId") h."userId", d."subTrack" FROM members."memberHistoryStats" h
    JOIN members."memberDevelopHistoryStats" d ON d."historyStatsId" = h.id
    WHERE d."subTrack" IN ('DEVELOPMENT', 'CODE') AND d."newRating" IS NOT NULL
    ORDER BY h."userId", d."ratingDate" DESC, d."challengeId" DESC`.execute(db);
  const currentItem = new Map(lastHistory.rows.map((r) => [r.userId, r.subTrack]));
  for (const [g, items] of devGroups) {
    const time = (r: any) => (r.mostRecentEventDate ? r.mostRecentEventDate.getTime() : -Infinity);
    const notCurrent = (r: any) => (r.name === currentItem.get(r.userId) ? 0 : 1);
    const latest = [...items].sort(
      (a, b) =>
        Number(a.rating === null) - Number(b.rating === null) ||
        notCurrent(a) - notCurrent(b) ||
        time(b) - time(a) ||
        (a.name < b.name ? -1 : 1),
    )[0];
    const nums = (f: string) => items.map((r) => r[f]).filter((x) => x !== null) as number[];
    const at = Math.max(...items.map(time));
    put(g.split('|')[1]!, {
      challenges: items.reduce((n, r) => n + (r.challenges ?? 0), 0),
      wins: items.reduce((n, r) => n + (r.wins ?? 0), 0),
      rating: latest.rating,
      volatility: latest.volatility,
      maxRating: nums('maxRating').length ? Math.max(...nums('maxRating')) : null,
      minRating: nums('minRating').length ? Math.min(...nums('minRating')) : null,
      globalRank: latest.overallRank,
      countryRank: latest.countryRank,
      schoolRank: latest.schoolRank,
      at: Number.isFinite(at) ? at : null,
    });
  }
  const des = await sql<any>`
    SELECT ds.id AS parent, ds."userId", i.name, i.challenges, i.wins, i."mostRecentEventDate" FROM members."memberDesignStats" ds
    JOIN members."memberDesignStatsItem" i ON i."designStatsId" = ds.id
    JOIN members."member" m ON m."userId" = ds."userId"`.execute(db);
  const desGroups = new Map<string, Row>();
  for (const r of des.rows) {
    const g = `${r.parent}|${keyOf(r.userId, designItemKey(r.name))}`;
    const e = desGroups.get(g) ?? {
      challenges: 0,
      wins: 0,
      rating: null,
      volatility: null,
      maxRating: null,
      minRating: null,
      globalRank: null,
      countryRank: null,
      schoolRank: null,
      at: null,
    };
    const at = r.mostRecentEventDate ? r.mostRecentEventDate.getTime() : null;
    desGroups.set(g, { ...e, challenges: e.challenges + r.challenges, wins: e.wins + r.wins, at: Math.max(e.at ?? -1, at ?? -1) });
  }
  for (const [g, e] of desGroups) put(g.split('|')[1]!, { ...e, at: e.at === -1 ? null : e.at });
  for (const [table, key] of [
    ['memberSrmStats', SRM_KEY],
    ['memberMarathonStats', MARATHON_KEY],
  ] as const) {
    const ds = await sql<any>`
      SELECT d."userId", s.* FROM members."memberDataScienceStats" d JOIN ${sql.table(`members.${table}`)} s ON s."dataScienceStatsId" = d.id
      JOIN members."member" m ON m."userId" = d."userId"`.execute(db);
    for (const r of ds.rows) {
      put(keyOf(r.userId, key), {
        challenges: r.challenges,
        wins: r.wins,
        rating: r.rating,
        volatility: r.volatility,
        maxRating: r.maximumRating,
        minRating: r.minimumRating,
        globalRank: r.rank,
        countryRank: r.countryRank,
        schoolRank: r.schoolRank,
        at: r.mostRecentEventDate ? r.mostRecentEventDate.getTime() : null,
      });
    }
  }
  // what legacy never counted: completed challenges after its last event on the key (all where it has no row)
  const events = await sql<{ userId: number; challengeId: string; win: boolean; track: TrackName; type: TypeName; endDate: Date }>`
    WITH ev AS (
      SELECT cr."userId"::bigint AS "userId", cr."challengeId", cr.placement = 1 AS win FROM reviews."challengeResult" cr
      UNION ALL
      SELECT w."userId", w."challengeId"::text, w.type = 'PLACEMENT' AND w.placement = 1 FROM challenges."ChallengeWinner" w
      WHERE w.type IN ('PLACEMENT', 'PASSED_REVIEW')
        AND NOT EXISTS (SELECT 1 FROM reviews."challengeResult" cr WHERE cr."challengeId" = w."challengeId"::text AND cr."userId" = w."userId"::text)
    )
    SELECT ev.*, t.track, y.name AS type, c."endDate" FROM ev
    JOIN members."member" m ON m."userId" = ev."userId"
    JOIN challenges."Challenge" c ON c.id::text = ev."challengeId" AND c.status = 'COMPLETED'
    JOIN challenges."ChallengeTrack" t ON t.id = c."trackId" JOIN challenges."ChallengeType" y ON y.id = c."typeId"`.execute(db);
  const supplement = new Map<string, { ids: Set<string>; wins: Set<string> }>();
  for (const e of events.rows) {
    const k = keyOf(e.userId, challengeKey(e.track, e.type));
    const l = out.get(k);
    if (l && (l.at === null || e.endDate.getTime() <= l.at)) continue;
    const sup = supplement.get(k) ?? { ids: new Set(), wins: new Set() };
    sup.ids.add(e.challengeId);
    if (e.win) sup.wins.add(e.challengeId);
    supplement.set(k, sup);
  }
  for (const [k, sup] of supplement) {
    const l = out.get(k);
    out.set(k, {
      ...(l ?? {
        rating: null,
        volatility: null,
        maxRating: null,
        minRating: null,
        globalRank: null,
        countryRank: null,
        schoolRank: null,
        at: null,
      }),
      challenges: (l?.challenges ?? 0) + sup.ids.size,
      wins: (l?.wins ?? 0) + sup.wins.size,
    });
  }
  return out;
}

describe('backfill (real Temporal, real Postgres, tiny dataset)', () => {
  let env: Awaited<ReturnType<typeof seededStack>>;
  let emptyReviews: Awaited<ReturnType<typeof createTestDatabase>>;
  let stack: Stack;
  let taskQueue: string;
  let backfilled: () => Promise<void>;

  beforeAll(async () => {
    [env, emptyReviews] = await Promise.all([seededStack('backfill', { size: 'tiny', seed: 11 }), createTestDatabase('backfill_noreview')]);
    ({ stack, taskQueue } = env);
    backfilled = backfilledState(stack.client!, taskQueue, stack.dbs.members);
  });
  afterAll(async () => {
    await env?.close();
    await emptyReviews?.drop();
  });

  it('builds every member’s stats exactly as the legacy source (and results where legacy has none) says', async () => {
    await clearUnified(stack.dbs.members);
    const r = await runTestBackfill(stack.client!, taskQueue, { batchSize: 37, skipRerate: true });
    const expected = await expectedStats(stack);
    const stream = keyOf(0, DEVELOP_RATED_KEY).slice(2); // "<trackId>/<typeId>" of the stream we re-rank
    const got = await sql<any>`SELECT * FROM members."memberStats"`.execute(stack.dbs.members);
    expect(got.rows.length).toBe(expected.size);
    for (const row of got.rows) {
      const e = expected.get(`${row.userId}/${row.trackId}/${row.typeId}`);
      expect(e, `unexpected row ${row.userId}/${row.trackId}/${row.typeId}`).toBeDefined();
      // the stream's ranks are ours (re-ranked over everyone); every other rank is legacy's, preserved
      const reranked = `${row.trackId}/${row.typeId}` === stream;
      const { at: _at, ...want } = e!;
      expect(
        {
          challenges: row.challenges,
          wins: row.wins,
          rating: row.rating,
          volatility: row.volatility,
          maxRating: row.maxRating,
          minRating: row.minRating,
          globalRank: reranked ? want.globalRank : row.globalRank,
          countryRank: reranked ? want.countryRank : row.countryRank,
          schoolRank: row.schoolRank,
        },
        `${row.userId}/${row.trackId}/${row.typeId}`,
      ).toEqual(want);
    }
    // members missing from `member` are skipped and reported, with the exact count
    const missing = await sql<{ n: number }>`
      SELECT count(DISTINCT x."userId")::int AS n FROM (
        SELECT "userId" FROM members."memberDevelopStats" UNION ALL SELECT "userId" FROM members."memberDesignStats"
        UNION ALL SELECT "userId" FROM members."memberDataScienceStats" UNION ALL SELECT "userId" FROM members."memberHistoryStats"
        UNION ALL SELECT "userId" FROM challenges."ChallengeWinner") x
      WHERE NOT EXISTS (SELECT 1 FROM members."member" m WHERE m."userId" = x."userId")`.execute(stack.dbs.members);
    expect(missing.rows[0]!.n).toBeGreaterThan(0);
    expect(r.totals.missingMembers).toBe(missing.rows[0]!.n);
    expect(r.totals.missingSample.length).toBeGreaterThan(0);
    const members = await sql<{ n: number }>`SELECT count(*)::int AS n FROM members."member"`.execute(stack.dbs.members);
    expect(r.totals.members).toBe(members.rows[0]!.n);
    expect(r.totals.batches).toBe(Math.ceil(members.rows[0]!.n / 37));
  });

  it('seeds history from legacy rows, then rated completed challenges; exactly one mostRecent, the latest', async () => {
    await backfilled();
    const legacy = await sql<{ userId: number; challengeId: string; rating: number | null; at: Date }>`
      SELECT h."userId", d."challengeId"::text AS "challengeId", d."newRating" AS rating, d."ratingDate" AS at
      FROM members."memberHistoryStats" h JOIN members."memberDevelopHistoryStats" d ON d."historyStatsId" = h.id
      JOIN members."member" m ON m."userId" = h."userId"
      UNION ALL
      SELECT h."userId", d."challengeId"::text, d.rating, d.date
      FROM members."memberHistoryStats" h JOIN members."memberDataScienceHistoryStats" d ON d."historyStatsId" = h.id
      JOIN members."member" m ON m."userId" = h."userId"`.execute(stack.dbs.members);
    const unified = await sql<{ userId: number; challengeId: string; newRating: number | null; eventDate: Date; createdBy: string }>`
      SELECT "userId", "challengeId", "newRating", "eventDate", "createdBy" FROM members."memberStatsHistory"`.execute(stack.dbs.members);
    const byKey = new Map(unified.rows.map((u) => [`${u.userId}/${u.challengeId}`, u]));
    for (const l of legacy.rows) {
      const u = byKey.get(`${l.userId}/${l.challengeId}`);
      expect(u, `legacy history ${l.userId}/${l.challengeId}`).toBeDefined();
      expect(u!.newRating).toBe(l.rating);
      expect(u!.eventDate.getTime()).toBe(l.at.getTime());
    }
    const fromChallenges = unified.rows.filter((u) => u.createdBy === 'backfill:challenge');
    const rated = unified.rows.filter((u) => u.createdBy === 'rerate');
    expect(rated.length).toBeGreaterThan(0); // events after the legacy data, rated by the backfill
    expect(unified.rows.length).toBe(legacy.rows.length + fromChallenges.length + rated.length);
    const violations = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM (
        SELECT "userId", "trackId", "typeId",
               count(*) FILTER (WHERE "mostRecent") AS recent,
               max("eventDate") AS latest,
               max("eventDate") FILTER (WHERE "mostRecent") AS flagged
        FROM members."memberStatsHistory" GROUP BY 1, 2, 3) g
      WHERE recent <> 1 OR flagged <> latest`.execute(stack.dbs.members);
    expect(violations.rows[0]!.n).toBe(0);
  });

  it('the Development rating continues from each member’s legacy state: legacy rows kept, new rows chained from them', async () => {
    await backfilled();
    const db = stack.dbs.members;
    // legacy's current stream rating per member: the latest rated DEVELOPMENT/CODE item (independent of the backfill)
    const legacyItems = await sql<{ userId: number; rating: number; volatility: number | null; at: Date | null; name: string }>`
      SELECT ds."userId", i.rating, i.volatility, i."mostRecentEventDate" AS at, i.name
      FROM members."memberDevelopStats" ds JOIN members."memberDevelopStatsItem" i ON i."developStatsId" = ds.id
      WHERE i.name IN ('DEVELOPMENT', 'CODE') AND i.rating IS NOT NULL`.execute(db);
    const legacyNow = new Map<number, { rating: number; volatility: number | null; at: number }>();
    for (const r of legacyItems.rows) {
      const at = r.at?.getTime() ?? -Infinity;
      const cur = legacyNow.get(r.userId);
      if (!cur || at > cur.at) legacyNow.set(r.userId, { rating: r.rating, volatility: r.volatility, at });
    }
    const rows = await sql<{
      userId: number;
      challengeId: string;
      oldRating: number | null;
      newRating: number;
      oldVolatility: number | null;
      newVolatility: number;
      eventDate: Date;
    }>`
      SELECT "userId", "challengeId", "oldRating", "newRating", "oldVolatility", "newVolatility", "eventDate" FROM members."memberStatsHistory"
      WHERE "createdBy" = 'rerate' AND "trackId" = ${trackId('DEVELOPMENT')} AND "typeId" = ${typeId('Challenge')}
      ORDER BY "userId", "eventDate", "challengeId"`.execute(db);
    const byMember = new Map<number, typeof rows.rows>();
    for (const r of rows.rows) byMember.set(r.userId, [...(byMember.get(r.userId) ?? []), r]);
    let continued = 0;
    for (const [userId, list] of byMember) {
      const l = legacyNow.get(userId);
      const first = list[0]!;
      if (l) {
        // the first computed event starts exactly where legacy left the member, after legacy's last event
        expect(first.oldRating, `member ${userId}`).toBe(l.rating);
        expect(first.oldVolatility ?? 515, `member ${userId}`).toBe(l.volatility ?? 515);
        expect(first.eventDate.getTime()).toBeGreaterThan(l.at);
        continued++;
      } else {
        expect(first.oldRating, `member ${userId} was never rated by legacy`).toBeNull();
      }
      list.slice(1).forEach((r, k) => {
        expect(r.oldRating).toBe(list[k]!.newRating);
        expect(r.oldVolatility).toBe(list[k]!.newVolatility);
      });
      const stats = await sql<{ rating: number; volatility: number }>`
        SELECT rating, volatility FROM members."memberStats"
        WHERE "userId" = ${userId} AND "trackId" = ${trackId('DEVELOPMENT')} AND "typeId" = ${typeId('Challenge')}`.execute(db);
      expect(stats.rows[0]).toEqual({ rating: list.at(-1)!.newRating, volatility: list.at(-1)!.newVolatility });
    }
    expect(continued).toBeGreaterThan(0);
    // no CODE stub rows: the stream lives on DEVELOPMENT/Challenge
    const code = await sql<{ n: number }>`SELECT count(*)::int AS n FROM members."memberStats" WHERE "typeId" = ${typeId('CODE')}`.execute(
      db,
    );
    expect(code.rows[0]!.n).toBe(0);
  });

  it('a second run writes nothing and leaves identical tables; ranks and memberMaxRating hold for every member', async () => {
    await backfilled();
    const before = await unifiedChecksum(stack.dbs.members);
    const r = await runTestBackfill(stack.client!, taskQueue, { batchSize: 50, concurrency: 2 });
    expect(r.totals.statsRows + r.totals.historyRows + r.totals.staleRemoved + r.ranksChanged).toBe(0);
    expect(await unifiedChecksum(stack.dbs.members)).toEqual(before);
    const withRating = await sql<{
      n: number;
    }>`SELECT count(DISTINCT "userId")::int AS n FROM members."memberStats" WHERE rating IS NOT NULL`.execute(stack.dbs.members);
    expect(before.counts[2]).toBe(withRating.rows[0]!.n);
    const unranked = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM members."memberStats" WHERE rating IS NOT NULL AND "globalRank" IS NULL`.execute(stack.dbs.members);
    expect(unranked.rows[0]!.n).toBe(0);
  });

  it('replaces stale unified-only rows on full runs, never on track-filtered runs', async () => {
    await backfilled();
    const someone = (await sql<{ userId: number }>`SELECT "userId" FROM members."memberStats" LIMIT 1`.execute(stack.dbs.members)).rows[0]!
      .userId;
    await sql`INSERT INTO members."memberStats" ("userId", "trackId", "typeId", challenges, wins) VALUES (${someone}, ${trackId('DESIGN')}, ${typeId('Task')}, 9, 9)`.execute(
      stack.dbs.members,
    );
    const filtered = await runTestBackfill(stack.client!, taskQueue, { track: 'DATA_SCIENCE' });
    expect(filtered.plan.trackName).toBe('DATA_SCIENCE');
    expect(filtered.totals.staleRemoved).toBe(0);
    const full = await runTestBackfill(stack.client!, taskQueue, { userIds: [someone] });
    expect(full.totals.staleRemoved).toBe(1);
    const left = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM members."memberStats" WHERE "typeId" = ${typeId('Task')} AND "trackId" = ${trackId('DESIGN')}`.execute(
      stack.dbs.members,
    );
    expect(left.rows[0]!.n).toBe(0);
  });

  it('private rows: never removed as stale, never a member\u2019s public max rating', async () => {
    await backfilled();
    const m = (
      await sql<{ userId: number; rating: number }>`
        SELECT "userId", rating FROM members."memberMaxRating" ORDER BY rating LIMIT 1`.execute(stack.dbs.members)
    ).rows[0]!;
    // a private, unified-only row rated above everything the member has publicly
    await sql`
      INSERT INTO members."memberStats" ("userId", "trackId", "typeId", challenges, wins, rating, "isPrivate")
      VALUES (${m.userId}, ${trackId('DESIGN')}, ${typeId('Task')}, 1, 1, ${m.rating + 1000}, true)`.execute(stack.dbs.members);
    try {
      const r = await runTestBackfill(stack.client!, taskQueue, { userIds: [m.userId] });
      expect(r.totals.staleRemoved).toBe(0);
      const row = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM members."memberStats" WHERE "userId" = ${m.userId} AND "isPrivate"`.execute(stack.dbs.members);
      expect(row.rows[0]!.n).toBe(1);
      const max = await sql<{ rating: number }>`SELECT rating FROM members."memberMaxRating" WHERE "userId" = ${m.userId}`.execute(
        stack.dbs.members,
      );
      expect(max.rows[0]!.rating).toBe(m.rating);
    } finally {
      await sql`DELETE FROM members."memberStats" WHERE "userId" = ${m.userId} AND "isPrivate"`.execute(stack.dbs.members);
    }
  });

  it('--user-id runs each member as a child workflow with a business id; a spot fix restores a member', async () => {
    await backfilled();
    const before = await unifiedChecksum(stack.dbs.members);
    const ids = (
      await sql<{ userId: number }>`SELECT DISTINCT "userId" FROM members."memberStats" ORDER BY 1 LIMIT 2`.execute(stack.dbs.members)
    ).rows.map((r) => r.userId);
    await sql`DELETE FROM members."memberStats" WHERE "userId" = ANY(${ids}::bigint[])`.execute(stack.dbs.members);
    await sql`DELETE FROM members."memberStatsHistory" WHERE "userId" = ANY(${ids}::bigint[])`.execute(stack.dbs.members);
    const r = await runTestBackfill(stack.client!, taskQueue, { userIds: [...ids, 424242] });
    expect(r.totals.members).toBe(2);
    expect(r.totals.batches).toBe(3);
    expect(r.totals.missingMembers).toBe(1); // asked for, not a member: skipped and reported
    expect(r.totals.missingSample).toEqual([424242]);
    const child = await stack.client!.workflow.getHandle(`backfill/member/${ids[0]}`).describe();
    expect(child.type).toBe('backfillMember');
    expect(await unifiedChecksum(stack.dbs.members)).toEqual(before);
  });

  it('--csv-only computes the same rows into CSV files and writes nothing to the database', async () => {
    await backfilled();
    const before = await unifiedChecksum(stack.dbs.members);
    await clearUnified(stack.dbs.members);
    const dir = mkdtempSync(join(tmpdir(), 'cutover-csv-'));
    const r = await runTestBackfill(stack.client!, taskQueue, { csvOnly: true, csvPath: dir, batchSize: 60 });
    const after = await unifiedChecksum(stack.dbs.members);
    expect(after.counts).toEqual([0, 0, 0]);
    const platformRows = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM platform.evidence WHERE kind = 'backfill' AND "workflowId" LIKE 'test/%'`.execute(stack.dbs.members);
    expect(platformRows.rows[0]!.n).toBeGreaterThan(0); // evidence of the dry run itself is the one write
    expect(r.csvFiles.map((f) => f.split('/').pop())).toEqual(['memberStats.csv', 'memberStatsHistory.csv']);
    const lines = (f: string) => readFileSync(f, 'utf8').trimEnd().split('\n');
    expect(lines(r.csvFiles[0]!)).toHaveLength(before.counts[0]! + 1);
    expect(lines(r.csvFiles[1]!)).toHaveLength(before.counts[1]! + 1);
    expect(lines(r.csvFiles[0]!)[0]).toMatch(/^userId,trackId,typeId,challenges,wins,rating/);
    // every history line has the header's columns, and its eventDate column holds the event's date
    const [header, ...rows] = lines(r.csvFiles[1]!);
    const cols = header!.split(',');
    expect(cols).toEqual([
      'userId',
      'trackId',
      'typeId',
      'challengeId',
      'challengeName',
      'oldRating',
      'newRating',
      'oldVolatility',
      'newVolatility',
      'placement',
      'percentile',
      'eventDate',
      'createdBy',
    ]);
    const simple = rows.filter((l) => !l.includes('"')); // names with commas are quoted; the rest split plainly
    expect(simple.length).toBeGreaterThan(100);
    for (const l of simple.slice(0, 200)) {
      const cells = l.split(',');
      expect(cells).toHaveLength(cols.length);
      expect(cells[cols.indexOf('eventDate')]).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      expect(cells[cols.indexOf('createdBy')]).toMatch(/^(backfill:legacy|backfill:challenge|rerate)$/);
    }
  });

  it('pauses between batches, rejects a bad concurrency, retunes, resumes, and continues-as-new', async () => {
    await clearUnified(stack.dbs.members);
    const h = await startTestBackfill(stack.client!, taskQueue, { batchSize: 5, concurrency: 1 }, { historyBudget: 60 });
    await h.signal(pauseSignal);
    await new Promise((r) => setTimeout(r, 1500));
    const p1 = await h.query(backfillProgress);
    expect(p1.state).toBe('paused');
    await new Promise((r) => setTimeout(r, 1000));
    const p2 = await h.query(backfillProgress);
    expect(p2.batchesDone).toBe(p1.batchesDone);
    const rejected = await h.executeUpdate(setConcurrency, { args: [0] }).catch((e: unknown) => e);
    expect(failureText(rejected)).toMatch(/concurrency must be between 1 and 32, got 0/);
    expect(await h.executeUpdate(setConcurrency, { args: [3] })).toBe(3);
    await h.signal(resumeSignal);
    const r = await h.result();
    const members = await sql<{ n: number }>`SELECT count(*)::int AS n FROM members."member"`.execute(stack.dbs.members);
    expect(r.totals.members).toBe(members.rows[0]!.n);
    expect(r.totals.batches).toBeGreaterThan(30);
    // the run was handed over at least once, and the last run finished the job
    const first = await stack.client!.workflow.getHandle(h.workflowId, h.firstExecutionRunId).describe();
    expect(first.status.name).toBe('CONTINUED_AS_NEW');
  });

  it('stops with a non-retryable error naming REVIEW_DB_URL when the review database lacks challengeResult; writes nothing', async () => {
    await backfilled();
    const before = await unifiedChecksum(stack.dbs.members);
    await withOtherStack(env.db.url, { REVIEW_DB_URL: emptyReviews.url }, async (other, q) => {
      const err = await runTestBackfill(other.client!, q, {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(failureText(err)).toMatch(/REVIEW_DB_URL/);
      expect(await unifiedChecksum(stack.dbs.members)).toEqual(before);
    });
  });

  it('the missing-metadata policy decides whether unmarked Development challenges are rated', async () => {
    const catalog = await loadCatalog(stack.dbs.challenges);
    const rated = await developReplay(stack.dbs, catalog, 'rated');
    const unrated = await developReplay(stack.dbs, catalog, 'unrated');
    const unmarked = await sql<{ n: number }>`
      SELECT count(DISTINCT c.id)::int AS n FROM challenges."Challenge" c
      JOIN challenges."ChallengeTrack" t ON t.id = c."trackId" JOIN challenges."ChallengeType" y ON y.id = c."typeId"
      WHERE t.track = 'DEVELOPMENT' AND y.name IN ('Challenge', 'CODE') AND c.status = 'COMPLETED' AND c."endDate" IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM challenges."ChallengeMetadata" m WHERE m."challengeId" = c.id AND m.name IN ('rated', 'isRated', 'unrated'))
        AND EXISTS (SELECT 1 FROM reviews."challengeResult" r WHERE r."challengeId" = c.id::text)`.execute(stack.dbs.members);
    expect(unmarked.rows[0]!.n).toBeGreaterThan(0);
    expect(rated.events.size - unrated.events.size).toBe(unmarked.rows[0]!.n);
  });

  it('a duplicate legacy parent row: the backfill and the legacy read both keep the most recent', async () => {
    await backfilled();
    const m = (
      await sql<{ userId: number; rating: number; at: Date }>`
      SELECT d."userId", s.rating, s."mostRecentEventDate" AS at FROM members."memberDataScienceStats" d
      JOIN members."memberSrmStats" s ON s."dataScienceStatsId" = d.id
      JOIN members."member" mm ON mm."userId" = d."userId"
      WHERE s.rating IS NOT NULL ORDER BY d."userId" LIMIT 1`.execute(stack.dbs.members)
    ).rows[0]!;
    await sql`INSERT INTO members."memberDataScienceStats" (id, "userId", challenges, wins) VALUES (900000001, ${m.userId}, 1, 0)`.execute(
      stack.dbs.members,
    );
    await sql`INSERT INTO members."memberSrmStats" (id, "dataScienceStatsId", challenges, wins, rating, "mostRecentEventDate")
              VALUES (900000001, 900000001, 1, 0, ${m.rating + 777}, ${new Date(m.at.getTime() - 86_400_000)})`.execute(stack.dbs.members);
    try {
      await runTestBackfill(stack.client!, taskQueue, { userIds: [m.userId] });
      const unified = await sql<{ rating: number }>`
        SELECT rating FROM members."memberStats" WHERE "userId" = ${m.userId} AND "typeId" = ${typeId('SRM')}`.execute(stack.dbs.members);
      expect(unified.rows[0]?.rating).toBe(m.rating);
      const legacy = (await legacyTracks(stack.dbs.members, m.userId)).find((t) => t.type === 'SRM');
      expect(legacy?.rating).toBe(m.rating);
    } finally {
      await sql`DELETE FROM members."memberSrmStats" WHERE id = 900000001`.execute(stack.dbs.members);
      await sql`DELETE FROM members."memberDataScienceStats" WHERE id = 900000001`.execute(stack.dbs.members);
    }
  });

  it('an unknown track fails at once, before any write', async () => {
    await backfilled();
    const before = await unifiedChecksum(stack.dbs.members);
    const err = await runTestBackfill(stack.client!, taskQueue, { track: 'UNDERWATER_BASKETS' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(failureText(err)).toMatch(/--track-id UNDERWATER_BASKETS is neither/);
    expect(await unifiedChecksum(stack.dbs.members)).toEqual(before);
  });

  it('a batch that keeps failing with a non-transient error stops the run after bounded attempts, visibly and on record', async () => {
    await backfilled();
    const victim = (
      await sql<{ userId: number }>`SELECT "userId" FROM members."memberStats" ORDER BY "userId" DESC LIMIT 1`.execute(stack.dbs.members)
    ).rows[0]!.userId;
    // a fault no retry can cure: every write of one member's stats row raises
    await sql`
      CREATE OR REPLACE FUNCTION pg_temp_fault() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected fault for member %', NEW."userId"; END $$`.execute(stack.dbs.members);
    await sql`
      CREATE TRIGGER injected_fault BEFORE INSERT OR UPDATE ON members."memberStats"
      FOR EACH ROW WHEN (NEW."userId" = ${sql.lit(victim)}) EXECUTE FUNCTION pg_temp_fault()`.execute(stack.dbs.members);
    try {
      await sql`DELETE FROM members."memberStats" WHERE "userId" = ${victim}`.execute(stack.dbs.members); // the backfill must rewrite it
      const h = await startTestBackfill(stack.client!, taskQueue, { batchSize: 100 }, { batchAttempts: 2 });
      const err = await h.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(failureText(err)).toMatch(
        new RegExp(`backfill stopped: batch of members \\d+–\\d+ failed 2 times: .*injected fault for member ${victim}`),
      );
      const ev = await sql<{ passed: boolean; error: string }>`
        SELECT passed, result->>'error' AS error FROM platform.evidence WHERE kind = 'backfill' AND "workflowId" = ${h.workflowId}`.execute(
        stack.dbs.members,
      );
      expect(ev.rows).toHaveLength(1);
      expect(ev.rows[0]!.passed).toBe(false);
      expect(ev.rows[0]!.error).toMatch(/injected fault/);
      const status = await collectStatus(stack);
      expect(status.evidence.find((e) => e.kind === 'backfill')?.error).toMatch(/injected fault/);
      expect(formatStatus(status)).toMatch(/stopped: batch of members .* failed 2 times/);
    } finally {
      await sql`DROP TRIGGER IF EXISTS injected_fault ON members."memberStats"`.execute(stack.dbs.members);
      await sql`DROP FUNCTION IF EXISTS pg_temp_fault()`.execute(stack.dbs.members);
    }
  });

  it('legacy rows on a sub-track the mapping does not know are reported by the backfill and counted by parity, never dropped silently', async () => {
    await backfilled();
    const m = (
      await sql<{ id: number; userId: number }>`
        SELECT ds.id, ds."userId" FROM members."memberDevelopStats" ds JOIN members."member" m ON m."userId" = ds."userId"
        WHERE ds."userId" IN (SELECT "userId" FROM members."memberHistoryStats") ORDER BY ds.id LIMIT 1`.execute(stack.dbs.members)
    ).rows[0]!;
    const hs = (
      await sql<{ id: number }>`SELECT id FROM members."memberHistoryStats" WHERE "userId" = ${m.userId} LIMIT 1`.execute(stack.dbs.members)
    ).rows[0]!;
    await sql`
      INSERT INTO members."memberDevelopStatsItem" (id, "developStatsId", name, "subTrackId", challenges, wins)
      VALUES (999901, ${m.id}, 'MYSTERY_TRACK', 999, 3, 1)`.execute(stack.dbs.members);
    await sql`
      INSERT INTO members."memberDataScienceHistoryStats" (id, "historyStatsId", "challengeId", "challengeName", date, rating, placement, percentile, "subTrack", "subTrackId")
      VALUES (999902, ${hs.id}, 424242, 'Mystery Round', now(), 1500, 1, 99, 'MYSTERY_ROUND', 9)`.execute(stack.dbs.members);
    try {
      const r = await runTestBackfill(stack.client!, taskQueue, { userIds: [m.userId] });
      expect(r.plan.unmapped).toEqual([
        { table: 'memberDataScienceHistoryStats', subTrack: 'MYSTERY_ROUND', rows: 1, members: 1 },
        { table: 'memberDevelopStatsItem', subTrack: 'MYSTERY_TRACK', rows: 1, members: 1 },
      ]);
      const p = await runTestParity(stack.client!, taskQueue, { mode: 'user', userId: m.userId });
      const unmapped = p.categories['track-summary'].examples.filter((e) => e.field === 'unmapped sub-track');
      expect(unmapped.map((e) => e.type).sort()).toEqual(['MYSTERY_ROUND', 'MYSTERY_TRACK']);
    } finally {
      await sql`DELETE FROM members."memberDevelopStatsItem" WHERE id = 999901`.execute(stack.dbs.members);
      await sql`DELETE FROM members."memberDataScienceHistoryStats" WHERE id = 999902`.execute(stack.dbs.members);
    }
  });

  it('history as the runbook describes it: explicitly unrated stream challenges get null-rating rows; the latest rated row carries the stats rating', async () => {
    await backfilled();
    const db = stack.dbs.members;
    const unrated = await sql<{ userId: number; challengeId: string; newRating: number | null; createdBy: string }>`
      SELECT cr."userId"::bigint AS "userId", cr."challengeId", h."newRating", h."createdBy"
      FROM reviews."challengeResult" cr
      JOIN challenges."Challenge" c ON c.id::text = cr."challengeId" AND c.status = 'COMPLETED'
      JOIN challenges."ChallengeType" y ON y.id = c."typeId" AND y.name IN ('Challenge', 'CODE', 'Marathon Match', 'SRM')
      JOIN challenges."ChallengeTrack" t ON t.id = c."trackId" AND (t.track = 'DEVELOPMENT' OR y.name IN ('Marathon Match', 'SRM'))
      JOIN challenges."ChallengeMetadata" md ON md."challengeId" = c.id
        AND ((md.name IN ('rated', 'isRated') AND md.value = 'false') OR (md.name = 'unrated' AND md.value = 'true'))
      JOIN members."member" m ON m."userId" = cr."userId"::bigint
      LEFT JOIN members."memberStatsHistory" h ON h."userId" = cr."userId"::bigint AND h."challengeId" = cr."challengeId"`.execute(db);
    expect(unrated.rows.length).toBeGreaterThan(0);
    for (const r of unrated.rows)
      expect(r, `${r.userId}/${r.challengeId}`).toMatchObject({ newRating: null, createdBy: 'backfill:challenge' });
    // the Development stream: its latest rated history row and its stats rating are one number
    expect(await streamRatingDisagreements(db)).toEqual([]);
  });

  it('--type-id takes the API enum spelling or the catalogue name; an unknown type stops before any write', async () => {
    await backfilled();
    await clearUnified(stack.dbs.members);
    const r = await runTestBackfill(stack.client!, taskQueue, { type: 'MARATHON_MATCH' });
    expect(r.plan).toMatchObject({ typeName: 'Marathon Match', fullRun: false });
    const types = await sql<{ typeId: string }>`
      SELECT DISTINCT "typeId"::text AS "typeId" FROM members."memberStats"
      UNION SELECT DISTINCT "typeId"::text FROM members."memberStatsHistory"`.execute(stack.dbs.members);
    expect(types.rows.map((x) => x.typeId)).toEqual([typeId('Marathon Match')]);
    const err = await runTestBackfill(stack.client!, taskQueue, { type: 'UNDERWATER' }).catch((e: unknown) => e);
    expect(failureText(err)).toMatch(/--type-id UNDERWATER is neither a ChallengeType id nor a type name/);
  });

  it('a run that stopped is continued by the next run with the same options: committed batches are skipped, counted once, and the tables equal a clean run', async () => {
    await backfilled();
    const clean = await unifiedChecksum(stack.dbs.members);
    const last = (await sql<{ userId: number }>`SELECT max("userId") AS "userId" FROM members."memberMaxRating"`.execute(stack.dbs.members))
      .rows[0]!.userId;
    await clearUnified(stack.dbs.members);
    await sql`
      CREATE OR REPLACE FUNCTION pg_temp_fault() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected fault for member %', NEW."userId"; END $$`.execute(stack.dbs.members);
    await sql`
      CREATE TRIGGER injected_fault BEFORE INSERT OR UPDATE ON members."memberMaxRating"
      FOR EACH ROW WHEN (NEW."userId" = ${sql.lit(last)}) EXECUTE FUNCTION pg_temp_fault()`.execute(stack.dbs.members);
    const options = { batchSize: 30, concurrency: 1 };
    try {
      const h = await startTestBackfill(stack.client!, taskQueue, options, { batchAttempts: 1 });
      expect(await h.result().catch((e: unknown) => failureText(e))).toMatch(/injected fault/);
    } finally {
      await sql`DROP TRIGGER IF EXISTS injected_fault ON members."memberMaxRating"`.execute(stack.dbs.members);
      await sql`DROP FUNCTION IF EXISTS pg_temp_fault()`.execute(stack.dbs.members);
    }
    const dir = mkdtempSync(join(tmpdir(), 'cutover-ids-'));
    const r = await runTestBackfill(stack.client!, taskQueue, { ...options, processedUserIdsPath: join(dir, 'processed.txt') });
    const members = await sql<{ userId: number }>`SELECT "userId" FROM members."member" ORDER BY 1`.execute(stack.dbs.members);
    // the batches before the one that failed had committed: skipped now, yet counted (from what they recorded)
    expect(r.plan.resumedBatches).toBeGreaterThan(0);
    expect(r.plan.resumedBatches).toBeLessThan(r.totals.batches);
    expect(r.totals.members).toBe(members.rows.length); // counted once each, from what the batches recorded
    expect(await unifiedChecksum(stack.dbs.members)).toEqual(clean);
    expect(readFileSync(join(dir, 'processed.txt'), 'utf8').trim().split('\n').map(Number)).toEqual(members.rows.map((m) => m.userId));
    // the next run with the same options is a new run; --restart would start over even if one were unfinished
    const again = await runTestBackfill(stack.client!, taskQueue, { ...options, restart: true });
    expect(again.plan.resumedBatches).toBeUndefined();
    expect(again.totals.statsRows + again.totals.historyRows).toBe(0);
  });

  it('a retried batch whose commit was recorded reports what it wrote then (explicit members too), not the nothing a second pass writes', async () => {
    await backfilled();
    const ids = (
      await sql<{ userId: number }>`SELECT "userId" FROM members."memberMaxRating" ORDER BY 1 LIMIT 2`.execute(stack.dbs.members)
    ).rows.map((r) => r.userId);
    await sql`DELETE FROM members."memberStats" WHERE "userId" = ANY(${ids}::bigint[])`.execute(stack.dbs.members);
    await sql`DELETE FROM members."memberStatsHistory" WHERE "userId" = ANY(${ids}::bigint[])`.execute(stack.dbs.members);
    const acts = backfillActivities({ dbs: stack.dbs, config: stack.config });
    const env = new MockActivityEnvironment();
    const options = BackfillOptions.parse({ userIds: ids });
    const plan: BackfillPlan = await env.run(acts.backfillPrepare, options);
    expect(plan.checkpoint).toBe(true);
    const input = { scope: { userIds: [ids[0]!] }, options, plan: batchPlanOf(plan) };
    const first: BatchResult = await env.run(acts.backfillBatch, input);
    expect(first.statsRows).toBeGreaterThan(0);
    expect(first.resumed).toBeUndefined();
    // the same attempt again, as after a worker that committed and died before reporting
    const retry = await env.run(acts.backfillBatch, input);
    expect(retry).toMatchObject({ resumed: true, statsRows: first.statsRows, historyRows: first.historyRows, members: 1 });
    await env.run(acts.backfillFinalize, { options, plan: batchPlanOf(plan) });
  });

  it('--csv-path naming a file writes the stats there and the history beside it; --skip-ratings does no rating work', async () => {
    await backfilled();
    const dir = mkdtempSync(join(tmpdir(), 'cutover-csvfile-'));
    const r = await runTestBackfill(stack.client!, taskQueue, { csvOnly: true, csvPath: join(dir, 'stats.csv'), batchSize: 80 });
    expect(r.csvFiles).toEqual([join(dir, 'stats.csv'), join(dir, 'stats-history.csv')]);
    expect(readFileSync(join(dir, 'stats.csv'), 'utf8')).toMatch(/^userId,trackId,typeId,challenges/);
    expect(readFileSync(join(dir, 'stats-history.csv'), 'utf8')).toMatch(/^userId,trackId,typeId,challengeId/);
    await clearUnified(stack.dbs.members);
    const s = await runTestBackfill(stack.client!, taskQueue, { skipRatings: true });
    expect(s.totals.rerated).toBe(0);
    expect(s.ranksChanged).toBe(0);
    const max = await sql<{ n: number }>`SELECT count(*)::int AS n FROM members."memberMaxRating"`.execute(stack.dbs.members);
    expect(max.rows[0]!.n).toBe(0);
  });

  it('mostRecent: the latest eventDate, ties broken by id as the real script does (not by challengeId)', async () => {
    await backfilled();
    const db = stack.dbs.members;
    const top = (
      await sql<{ userId: number; trackId: string; typeId: string; eventDate: Date; challengeId: string }>`
        SELECT "userId", "trackId"::text AS "trackId", "typeId"::text AS "typeId", "eventDate", "challengeId" FROM members."memberStatsHistory"
        WHERE "mostRecent" AND "challengeId" > '0' ORDER BY "userId" LIMIT 1`.execute(db)
    ).rows[0]!;
    // same key, same date, a challengeId that sorts first, written later (so a higher id): a rerate's row, which a backfill keeps
    await sql`
      INSERT INTO members."memberStatsHistory" ("userId", "trackId", "typeId", "challengeId", "eventDate", "newRating", "createdBy")
      VALUES (${top.userId}, ${top.trackId}::uuid, ${top.typeId}::uuid, '0-tie', ${top.eventDate}, 1234, 'rerate')`.execute(db);
    try {
      await runTestBackfill(stack.client!, taskQueue, { userIds: [top.userId] });
      const flagged = await sql<{ challengeId: string }>`
        SELECT "challengeId" FROM members."memberStatsHistory"
        WHERE "userId" = ${top.userId} AND "trackId" = ${top.trackId}::uuid AND "typeId" = ${top.typeId}::uuid AND "mostRecent"`.execute(
        db,
      );
      expect(flagged.rows).toEqual([{ challengeId: '0-tie' }]);
    } finally {
      await sql`DELETE FROM members."memberStatsHistory" WHERE "challengeId" = '0-tie'`.execute(db);
      await runTestBackfill(stack.client!, taskQueue, { userIds: [top.userId] });
    }
  });

  it('a run without the continuation keeps what an earlier one rated: stats and rerated history still agree', async () => {
    await backfilled();
    const db = stack.dbs.members;
    await runTestBackfill(stack.client!, taskQueue, { skipRerate: true });
    expect(await streamRatingDisagreements(db)).toEqual([]);
    const rerated = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM members."memberStatsHistory" WHERE "createdBy" = 'rerate'`.execute(db);
    expect(rerated.rows[0]!.n).toBeGreaterThan(0);
  });
});
