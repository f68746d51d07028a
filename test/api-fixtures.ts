import { sql, type Kysely } from 'kysely';
import { trackByName, typeByName, type TrackName, type TypeName } from '../domain/catalog';
import { openDatabases, type Databases } from '../store/db';
import { initReadSource } from '../store/read-source';
import { migrateToLatest } from '../migrations';
import { createMembersSource } from '../scripts/seed/source-schema';
import { createTestDatabase, testConfig } from './support/db';

/**
 * Hand-written members for the read API tests: the same stats once in the legacy tables and once in the unified
 * tables (as the backfill would write them), so both read paths must answer identically.
 * - Alice_1: develop items (DEVELOPMENT rated and CODE collapse into DEVELOPMENT/Challenge, FIRST_2_FINISH), three
 *   design items (two collapse into DESIGN/Challenge), SRM and MM, develop + data-science history with a date tie.
 * - bob: a member without any stats.
 * - carol: unified rows only, so an answer's content tells which tables it came from.
 */

export const ALICE = { userId: 1001, handle: 'Alice_1' };
export const BOB = { userId: 1002, handle: 'bob' };
export const CAROL = { userId: 1003, handle: 'carol' };

const d = (s: string) => new Date(`${s}T00:00:00Z`);

export interface Fixture {
  url: string;
  dbs: Databases;
  close(): Promise<void>;
}

export async function fixtureDatabase(label: string): Promise<Fixture> {
  const tdb = await createTestDatabase(label);
  const dbs = openDatabases(testConfig(tdb.url));
  const db = dbs.members;
  await createMembersSource(db);
  await migrateToLatest(db);
  await initReadSource(db, 'legacy');
  await insertMembers(db);
  await insertLegacy(db);
  await insertUnified(db);
  return {
    url: tdb.url,
    dbs,
    close: () => closeAndDrop(dbs, tdb),
  };
}

/** Closes the pools, then drops the database (drop() waits for the server to let the connections go). */
export async function closeAndDrop(dbs: Databases, tdb: { name: string; drop(): Promise<void> }): Promise<void> {
  await dbs.close();
  await tdb.drop();
}

async function insertMembers(db: Kysely<any>) {
  for (const m of [ALICE, BOB, CAROL]) {
    await sql`INSERT INTO members."member" ("userId", handle, "handleLower", "createdAt")
              VALUES (${m.userId}, ${m.handle}, ${m.handle.toLowerCase()}, now())`.execute(db);
  }
}

async function insertLegacy(db: Kysely<any>) {
  const u = ALICE.userId;
  // one statement per query: parameters make each a prepared statement
  const statements = [
    sql`INSERT INTO members."memberDevelopStats" (id, "userId", challenges, wins) VALUES (1, ${u}, 16, 6)`,
    sql`INSERT INTO members."memberDevelopStatsItem"
      (id, "developStatsId", name, "subTrackId", challenges, wins, rating, volatility, "maxRating", "minRating",
      "overallRank", "countryRank", "schoolRank", "overallPercentile", "mostRecentSubmission", "mostRecentEventDate")
      VALUES
      (1, 1, 'DEVELOPMENT', 113, 10, 3, 1500, 400, 1600, 1200, 3, 1, NULL, 95.5, '2020-03-01T00:00:00Z', '2020-03-02T00:00:00Z'),
      (2, 1, 'CODE', 39, 4, 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2019-05-01T00:00:00Z', '2019-05-02T00:00:00Z'),
      (3, 1, 'FIRST_2_FINISH', 38, 2, 2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
    sql`INSERT INTO members."memberDesignStats" (id, "userId", challenges, wins) VALUES (1, ${u}, 6, 2)`,
    sql`INSERT INTO members."memberDesignStatsItem"
      (id, "designStatsId", name, "subTrackId", challenges, wins, "mostRecentSubmission", "mostRecentEventDate")
      VALUES
      (1, 1, 'WEB_DESIGNS', 17, 3, 1, '2018-01-01T00:00:00Z', '2018-01-02T00:00:00Z'),
      (2, 1, 'LOGO_DESIGN', 22, 2, 0, '2018-06-01T00:00:00Z', NULL),
      (3, 1, 'DESIGN_FIRST_2_FINISH', 40, 1, 1, '2017-01-01T00:00:00Z', '2017-01-01T00:00:00Z')`,
    sql`INSERT INTO members."memberDataScienceStats" (id, "userId", challenges, wins) VALUES (1, ${u}, 12, 2)`,
    sql`INSERT INTO members."memberSrmStats"
      (id, "dataScienceStatsId", challenges, wins, rating, percentile, rank, "countryRank", "schoolRank", volatility,
      "maximumRating", "minimumRating", competitions, "mostRecentEventDate", "mostRecentSubmission")
      VALUES (1, 1, 7, 1, 1800, 88.0, 40, 5, 2, 300, 1900, 1100, 7, '2020-02-01T00:00:00Z', '2020-02-01T00:00:00Z')`,
    sql`INSERT INTO members."memberMarathonStats"
      (id, "dataScienceStatsId", challenges, wins, rating, percentile, rank, "countryRank", "schoolRank", volatility,
      "maximumRating", "minimumRating", competitions, "avgRank", "avgNumSubmissions", "bestRank", "topFiveFinishes",
      "topTenFinishes", "mostRecentEventDate", "mostRecentSubmission")
      VALUES (1, 1, 5, 1, 2300, 99.1, 4, 1, NULL, 250, 2400, 1500, 5, 12.5, 3.2, 1, 2, 3, '2019-12-01T00:00:00Z', '2019-11-30T00:00:00Z')`,
    sql`INSERT INTO members."memberHistoryStats" (id, "userId") VALUES (1, ${u})`,
    sql`INSERT INTO members."memberDevelopHistoryStats"
      (id, "historyStatsId", "challengeId", "challengeName", "ratingDate", "newRating", "subTrack", "subTrackId")
      VALUES
      (1, 1, 30003, 'Payments Checkout - Refactor', '2020-03-02T00:00:00Z', 1500, 'DEVELOPMENT', 113),
      (2, 1, 30001, 'Search Cache - Prototype', '2020-01-05T00:00:00Z', 1400, 'DEVELOPMENT', 113),
      (3, 1, 30002, 'Forums Login - Bug Fixes', '2020-03-02T00:00:00Z', 1450, 'DEVELOPMENT', 113)`,
    sql`INSERT INTO members."memberDataScienceHistoryStats"
      (id, "historyStatsId", "challengeId", "challengeName", date, rating, placement, percentile, "subTrack", "subTrackId")
      VALUES
      (1, 1, 20001, 'SRM 700', '2020-02-01T00:00:00Z', 1800, 2, 88.0, 'SRM', 1),
      (2, 1, 145, 'Marathon Match 145', '2019-12-01T00:00:00Z', 2300, 1, 99.1, 'MARATHON_MATCH', 2)`,
  ];
  for (const q of statements) await q.execute(db);
}

interface UnifiedStat {
  track: TrackName;
  type: TypeName;
  challenges: number;
  wins: number;
  rating?: number;
  volatility?: number;
  maxRating?: number;
  minRating?: number;
  globalRank?: number;
  countryRank?: number;
  schoolRank?: number;
  percentile?: number;
  avgRank?: number;
  avgNumSubmissions?: number;
  bestRank?: number;
  topFiveFinishes?: number;
  topTenFinishes?: number;
  mostRecentEventDate?: Date;
  mostRecentSubmission?: Date;
}

/** Alice's legacy stats as the backfill writes them (design sub-tracks summed into DESIGN/Challenge). */
const ALICE_UNIFIED: UnifiedStat[] = [
  {
    // DEVELOPMENT and CODE items: one stream on one key (counts added, the rated item's rating)
    track: 'DEVELOPMENT',
    type: 'Challenge',
    challenges: 14,
    wins: 4,
    rating: 1500,
    volatility: 400,
    maxRating: 1600,
    minRating: 1200,
    globalRank: 3,
    countryRank: 1,
    percentile: 95.5,
    mostRecentSubmission: d('2020-03-01'),
    mostRecentEventDate: d('2020-03-02'),
  },
  { track: 'DEVELOPMENT', type: 'First2Finish', challenges: 2, wins: 2 },
  {
    track: 'DESIGN',
    type: 'Challenge',
    challenges: 5,
    wins: 1,
    mostRecentSubmission: d('2018-06-01'),
    mostRecentEventDate: d('2018-01-02'),
  },
  {
    track: 'DESIGN',
    type: 'First2Finish',
    challenges: 1,
    wins: 1,
    mostRecentSubmission: d('2017-01-01'),
    mostRecentEventDate: d('2017-01-01'),
  },
  {
    track: 'DATA_SCIENCE',
    type: 'SRM',
    challenges: 7,
    wins: 1,
    rating: 1800,
    volatility: 300,
    maxRating: 1900,
    minRating: 1100,
    globalRank: 40,
    countryRank: 5,
    schoolRank: 2,
    percentile: 88.0,
    mostRecentEventDate: d('2020-02-01'),
    mostRecentSubmission: d('2020-02-01'),
  },
  {
    track: 'DATA_SCIENCE',
    type: 'Marathon Match',
    challenges: 5,
    wins: 1,
    rating: 2300,
    volatility: 250,
    maxRating: 2400,
    minRating: 1500,
    globalRank: 4,
    countryRank: 1,
    percentile: 99.1,
    avgRank: 12.5,
    avgNumSubmissions: 3.2,
    bestRank: 1,
    topFiveFinishes: 2,
    topTenFinishes: 3,
    mostRecentEventDate: d('2019-12-01'),
    mostRecentSubmission: d('2019-11-30'),
  },
];

const ALICE_UNIFIED_HISTORY = [
  { track: 'DEVELOPMENT', type: 'Challenge', challengeId: '30001', name: 'Search Cache - Prototype', date: '2020-01-05', rating: 1400 },
  {
    track: 'DEVELOPMENT',
    type: 'Challenge',
    challengeId: '30003',
    name: 'Payments Checkout - Refactor',
    date: '2020-03-02',
    rating: 1500,
    mostRecent: true,
  },
  { track: 'DEVELOPMENT', type: 'Challenge', challengeId: '30002', name: 'Forums Login - Bug Fixes', date: '2020-03-02', rating: 1450 },
  {
    track: 'DATA_SCIENCE',
    type: 'SRM',
    challengeId: '20001',
    name: 'SRM 700',
    date: '2020-02-01',
    rating: 1800,
    placement: 2,
    percentile: 88.0,
    mostRecent: true,
  },
  {
    track: 'DATA_SCIENCE',
    type: 'Marathon Match',
    challengeId: '145',
    name: 'Marathon Match 145',
    date: '2019-12-01',
    rating: 2300,
    placement: 1,
    percentile: 99.1,
    mostRecent: true,
  },
] as const;

async function insertStat(db: Kysely<any>, userId: number, s: UnifiedStat) {
  await sql`
    INSERT INTO members."memberStats" ("userId", "trackId", "typeId", challenges, wins, rating, volatility, "maxRating", "minRating",
      "globalRank", "countryRank", "schoolRank", percentile, "avgRank", "avgNumSubmissions", "bestRank", "topFiveFinishes",
      "topTenFinishes", "mostRecentEventDate", "mostRecentSubmission")
    VALUES (${userId}, ${trackByName(s.track).id}, ${typeByName(s.type).id}, ${s.challenges}, ${s.wins}, ${s.rating ?? null},
      ${s.volatility ?? null}, ${s.maxRating ?? null}, ${s.minRating ?? null}, ${s.globalRank ?? null}, ${s.countryRank ?? null},
      ${s.schoolRank ?? null}, ${s.percentile ?? null}, ${s.avgRank ?? null}, ${s.avgNumSubmissions ?? null}, ${s.bestRank ?? null},
      ${s.topFiveFinishes ?? null}, ${s.topTenFinishes ?? null}, ${s.mostRecentEventDate ?? null}, ${s.mostRecentSubmission ?? null})`.execute(
    db,
  );
}

async function insertUnified(db: Kysely<any>) {
  for (const s of ALICE_UNIFIED) await insertStat(db, ALICE.userId, s);
  for (const h of ALICE_UNIFIED_HISTORY) {
    const placement = 'placement' in h ? h.placement : null;
    const percentile = 'percentile' in h ? h.percentile : null;
    await sql`
      INSERT INTO members."memberStatsHistory" ("userId", "trackId", "typeId", "challengeId", "challengeName", "newRating",
        placement, percentile, "eventDate", "mostRecent")
      VALUES (${ALICE.userId}, ${trackByName(h.track).id}, ${typeByName(h.type).id}, ${h.challengeId}, ${h.name}, ${h.rating},
        ${placement}, ${percentile}, ${d(h.date)}, ${'mostRecent' in h})`.execute(db);
  }
  await sql`INSERT INTO members."memberMaxRating" ("userId", rating, track, "subTrack", "ratingColor")
            VALUES (${ALICE.userId}, 2300, 'DATA_SCIENCE', 'Marathon Match', '#EF3A3A')`.execute(db);
  // carol: unified only
  await insertStat(db, CAROL.userId, {
    track: 'DEVELOPMENT',
    type: 'Challenge',
    challenges: 1,
    wins: 1,
    rating: 1000,
    mostRecentEventDate: d('2021-01-01'),
  });
  await sql`INSERT INTO members."memberMaxRating" ("userId", rating, track, "subTrack", "ratingColor")
            VALUES (${CAROL.userId}, 1000, 'DEVELOPMENT', 'Challenge', '#69C329')`.execute(db);
}
