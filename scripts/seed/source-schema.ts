import { sql, type Kysely } from 'kysely';

/**
 * The source systems' schemas, as production has them (quoted camelCase, the real ID type mismatches included:
 * challengeResult.userId TEXT, ChallengeWinner.userId INT, member.userId BIGINT). We do not own these; the seed
 * creates them so a fresh machine has something real to migrate.
 *
 * Keys and indexes live in SOURCE_TABLES rather than in the CREATE statements so a bulk load can create the bare
 * tables (`deferKeys`), COPY into them and build keys and indexes once afterwards (createSourceIndexes), which is
 * several times faster than maintaining b-trees row by row. Without `deferKeys` the primary keys are added at once.
 */

export interface CreateSourceOptions {
  /** leave out primary keys; the caller runs createSourceIndexes after loading */
  deferKeys?: boolean;
}

export async function createMembersSource(db: Kysely<any>, opts: CreateSourceOptions = {}): Promise<void> {
  await sql`CREATE SCHEMA IF NOT EXISTS members`.execute(db);
  await sql`
    CREATE TABLE IF NOT EXISTS members."member" (
      "userId" BIGINT NOT NULL,
      handle TEXT NOT NULL,
      "handleLower" TEXT NOT NULL,
      email TEXT,
      status TEXT NOT NULL DEFAULT 'ACTIVE',
      "homeCountryCode" TEXT,
      "competitionCountryCode" TEXT,
      country TEXT,
      "createdAt" TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE IF NOT EXISTS members."memberDevelopStats" (
      id BIGINT NOT NULL,
      "userId" BIGINT NOT NULL,
      challenges INT, wins INT,
      "mostRecentSubmission" TIMESTAMPTZ, "mostRecentEventDate" TIMESTAMPTZ
    );
    CREATE TABLE IF NOT EXISTS members."memberDevelopStatsItem" (
      id BIGINT NOT NULL,
      "developStatsId" BIGINT NOT NULL,
      name TEXT NOT NULL,
      "subTrackId" INT NOT NULL,
      challenges INT, wins INT,
      rating INT, volatility INT, "maxRating" INT, "minRating" INT,
      "overallRank" INT, "countryRank" INT, "schoolRank" INT, "overallPercentile" DOUBLE PRECISION,
      "mostRecentSubmission" TIMESTAMPTZ, "mostRecentEventDate" TIMESTAMPTZ
    );
    CREATE TABLE IF NOT EXISTS members."memberDesignStats" (
      id BIGINT NOT NULL,
      "userId" BIGINT NOT NULL,
      challenges INT, wins INT,
      "mostRecentSubmission" TIMESTAMPTZ, "mostRecentEventDate" TIMESTAMPTZ
    );
    CREATE TABLE IF NOT EXISTS members."memberDesignStatsItem" (
      id BIGINT NOT NULL,
      "designStatsId" BIGINT NOT NULL,
      name TEXT NOT NULL,
      "subTrackId" INT NOT NULL,
      challenges INT, wins INT, submissions INT, "passedScreening" INT, "avgPlacement" DOUBLE PRECISION,
      "mostRecentSubmission" TIMESTAMPTZ, "mostRecentEventDate" TIMESTAMPTZ
    );
    CREATE TABLE IF NOT EXISTS members."memberDataScienceStats" (
      id BIGINT NOT NULL,
      "userId" BIGINT NOT NULL,
      challenges INT, wins INT,
      "mostRecentSubmission" TIMESTAMPTZ, "mostRecentEventDate" TIMESTAMPTZ
    );
    CREATE TABLE IF NOT EXISTS members."memberSrmStats" (
      id BIGINT NOT NULL,
      "dataScienceStatsId" BIGINT NOT NULL,
      challenges INT, wins INT,
      rating INT, percentile DOUBLE PRECISION, rank INT, "countryRank" INT, "schoolRank" INT,
      volatility INT, "maximumRating" INT, "minimumRating" INT, "defaultLanguage" TEXT, competitions INT,
      "mostRecentEventName" TEXT, "mostRecentEventDate" TIMESTAMPTZ, "mostRecentSubmission" TIMESTAMPTZ
    );
    CREATE TABLE IF NOT EXISTS members."memberMarathonStats" (
      id BIGINT NOT NULL,
      "dataScienceStatsId" BIGINT NOT NULL,
      challenges INT, wins INT,
      rating INT, percentile DOUBLE PRECISION, rank INT, "countryRank" INT, "schoolRank" INT,
      volatility INT, "maximumRating" INT, "minimumRating" INT, "defaultLanguage" TEXT, competitions INT,
      "avgRank" DOUBLE PRECISION, "avgNumSubmissions" DOUBLE PRECISION, "bestRank" INT,
      "topFiveFinishes" INT, "topTenFinishes" INT,
      "mostRecentEventName" TEXT, "mostRecentEventDate" TIMESTAMPTZ, "mostRecentSubmission" TIMESTAMPTZ
    );
    CREATE TABLE IF NOT EXISTS members."memberHistoryStats" (
      id BIGINT NOT NULL,
      "userId" BIGINT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS members."memberDevelopHistoryStats" (
      id BIGINT NOT NULL,
      "historyStatsId" BIGINT NOT NULL,
      "challengeId" BIGINT NOT NULL,
      "challengeName" TEXT NOT NULL,
      "ratingDate" TIMESTAMPTZ NOT NULL,
      "newRating" INT,
      "subTrack" TEXT NOT NULL,
      "subTrackId" INT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS members."memberDataScienceHistoryStats" (
      id BIGINT NOT NULL,
      "historyStatsId" BIGINT NOT NULL,
      "challengeId" BIGINT NOT NULL,
      "challengeName" TEXT NOT NULL,
      date TIMESTAMPTZ NOT NULL,
      rating INT,
      placement INT,
      percentile DOUBLE PRECISION,
      "subTrack" TEXT NOT NULL,
      "subTrackId" INT NOT NULL
    );
  `.execute(db);
  if (!opts.deferKeys) await addSourceKeys(db, 'members');
}

export async function createChallengesSource(db: Kysely<any>, opts: CreateSourceOptions = {}): Promise<void> {
  await sql`CREATE SCHEMA IF NOT EXISTS challenges`.execute(db);
  await sql`
    CREATE TABLE IF NOT EXISTS challenges."ChallengeTrack" (
      id UUID NOT NULL,
      name TEXT NOT NULL,
      abbreviation TEXT NOT NULL,
      track TEXT NOT NULL,
      "isActive" BOOLEAN NOT NULL DEFAULT true,
      "legacyId" INT
    );
    CREATE TABLE IF NOT EXISTS challenges."ChallengeType" (
      id UUID NOT NULL,
      name TEXT NOT NULL,
      abbreviation TEXT NOT NULL,
      "isActive" BOOLEAN NOT NULL DEFAULT true,
      "isTask" BOOLEAN NOT NULL DEFAULT false
    );
    CREATE TABLE IF NOT EXISTS challenges."Challenge" (
      id UUID NOT NULL,
      name TEXT NOT NULL,
      "typeId" UUID NOT NULL,
      "trackId" UUID NOT NULL,
      status TEXT NOT NULL,
      "legacyId" BIGINT,
      "startDate" TIMESTAMPTZ,
      "endDate" TIMESTAMPTZ,
      "createdAt" TIMESTAMPTZ NOT NULL,
      "updatedAt" TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE IF NOT EXISTS challenges."ChallengeMetadata" (
      id BIGINT NOT NULL,
      "challengeId" UUID NOT NULL,
      name TEXT NOT NULL,
      value TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS challenges."ChallengeWinner" (
      id BIGINT NOT NULL,
      "challengeId" UUID NOT NULL,
      "userId" INT NOT NULL,
      handle TEXT NOT NULL,
      placement INT NOT NULL,
      type TEXT NOT NULL
    );
  `.execute(db);
  if (!opts.deferKeys) await addSourceKeys(db, 'challenges');
}

export async function createReviewsSource(db: Kysely<any>, opts: CreateSourceOptions = {}): Promise<void> {
  await sql`CREATE SCHEMA IF NOT EXISTS reviews`.execute(db);
  await sql`
    CREATE TABLE IF NOT EXISTS reviews."challengeResult" (
      "challengeId" TEXT NOT NULL,
      "userId" TEXT NOT NULL,
      handle TEXT,
      placement INT,
      "finalScore" DOUBLE PRECISION,
      rated BOOLEAN,
      "passedReview" BOOLEAN,
      "validSubmission" BOOLEAN,
      "oldRating" INT,
      "newRating" INT,
      "ratingOrder" INT,
      "createdAt" TIMESTAMPTZ NOT NULL,
      "updatedAt" TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE IF NOT EXISTS reviews.submission (
      id UUID NOT NULL,
      "challengeId" TEXT NOT NULL,
      "memberId" TEXT NOT NULL,
      status TEXT NOT NULL,
      type TEXT NOT NULL DEFAULT 'CONTEST_SUBMISSION',
      "finalScore" DOUBLE PRECISION,
      "submittedDate" TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE IF NOT EXISTS reviews."reviewSummation" (
      id UUID NOT NULL,
      "submissionId" UUID NOT NULL,
      "aggregateScore" DOUBLE PRECISION,
      "isPassing" BOOLEAN,
      "isFinal" BOOLEAN,
      "reviewedDate" TIMESTAMPTZ,
      "createdAt" TIMESTAMPTZ NOT NULL
    );
  `.execute(db);
  if (!opts.deferKeys) await addSourceKeys(db, 'reviews');
}

export type SourceDatabase = 'members' | 'challenges' | 'reviews';

export interface SourceTable {
  db: SourceDatabase;
  schema: string;
  table: string;
  primaryKey: readonly string[];
  /** secondary indexes, each a column list: the join and lookup paths backfill, parity and rerate use */
  indexes: readonly (readonly string[])[];
}

/** Every source table, largest first (index builds start with the slowest). */
export const SOURCE_TABLES: readonly SourceTable[] = [
  { db: 'reviews', schema: 'reviews', table: 'challengeResult', primaryKey: ['challengeId', 'userId'], indexes: [['userId']] },
  {
    db: 'members',
    schema: 'members',
    table: 'memberDataScienceHistoryStats',
    primaryKey: ['id'],
    indexes: [['historyStatsId'], ['challengeId']],
  },
  {
    db: 'members',
    schema: 'members',
    table: 'memberDevelopHistoryStats',
    primaryKey: ['id'],
    indexes: [['historyStatsId'], ['challengeId']],
  },
  { db: 'reviews', schema: 'reviews', table: 'reviewSummation', primaryKey: ['id'], indexes: [['submissionId', 'createdAt']] },
  { db: 'reviews', schema: 'reviews', table: 'submission', primaryKey: ['id'], indexes: [['challengeId'], ['memberId']] },
  { db: 'challenges', schema: 'challenges', table: 'ChallengeWinner', primaryKey: ['id'], indexes: [['challengeId'], ['userId']] },
  { db: 'challenges', schema: 'challenges', table: 'ChallengeMetadata', primaryKey: ['id'], indexes: [['challengeId', 'name']] },
  {
    db: 'challenges',
    schema: 'challenges',
    table: 'Challenge',
    primaryKey: ['id'],
    indexes: [['legacyId'], ['typeId', 'trackId', 'status', 'endDate'], ['name']],
  },
  { db: 'members', schema: 'members', table: 'member', primaryKey: ['userId'], indexes: [['handleLower']] },
  { db: 'members', schema: 'members', table: 'memberDevelopStatsItem', primaryKey: ['id'], indexes: [['developStatsId']] },
  { db: 'members', schema: 'members', table: 'memberDesignStatsItem', primaryKey: ['id'], indexes: [['designStatsId']] },
  { db: 'members', schema: 'members', table: 'memberDevelopStats', primaryKey: ['id'], indexes: [['userId']] },
  { db: 'members', schema: 'members', table: 'memberDesignStats', primaryKey: ['id'], indexes: [['userId']] },
  { db: 'members', schema: 'members', table: 'memberDataScienceStats', primaryKey: ['id'], indexes: [['userId']] },
  { db: 'members', schema: 'members', table: 'memberMarathonStats', primaryKey: ['id'], indexes: [['dataScienceStatsId']] },
  { db: 'members', schema: 'members', table: 'memberSrmStats', primaryKey: ['id'], indexes: [['dataScienceStatsId']] },
  { db: 'members', schema: 'members', table: 'memberHistoryStats', primaryKey: ['id'], indexes: [['userId']] },
  { db: 'challenges', schema: 'challenges', table: 'ChallengeTrack', primaryKey: ['id'], indexes: [] },
  { db: 'challenges', schema: 'challenges', table: 'ChallengeType', primaryKey: ['id'], indexes: [] },
];

const tableRef = (t: SourceTable) => sql.table(`${t.schema}.${t.table}`);
const cols = (columns: readonly string[]) => sql.join(columns.map((c) => sql.id(c)));

async function hasPrimaryKey(db: Kysely<any>, t: SourceTable): Promise<boolean> {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM pg_index
    WHERE indrelid = to_regclass(${`"${t.schema}"."${t.table}"`}) AND indisprimary`.execute(db);
  return (rows[0]?.n ?? 0) > 0;
}

async function addKey(db: Kysely<any>, t: SourceTable): Promise<void> {
  if (await hasPrimaryKey(db, t)) return;
  await sql`ALTER TABLE ${tableRef(t)} ADD CONSTRAINT ${sql.id(`${t.table}_pkey`)} PRIMARY KEY (${cols(t.primaryKey)})`.execute(db);
}

async function addSourceKeys(db: Kysely<any>, which: SourceDatabase): Promise<void> {
  for (const t of SOURCE_TABLES) if (t.db === which) await addKey(db, t);
}

/** One handle per source database (the Databases of store/db.ts fit). */
export type SourceDatabases = Record<SourceDatabase, Kysely<any>>;

/** Runs `task` over the tables, `concurrency` at a time, largest first. */
async function eachTable(tables: readonly SourceTable[], concurrency: number, task: (t: SourceTable) => Promise<void>): Promise<void> {
  const queue = [...tables];
  const worker = async () => {
    for (let t = queue.shift(); t; t = queue.shift()) await task(t);
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
}

/**
 * Primary keys and secondary indexes of every source table, built after bulk load; idempotent. `concurrency`
 * tables at a time (a table's own statements run in order: ALTER TABLE locks it anyway), each with a generous
 * maintenance_work_mem so its b-trees sort in memory.
 */
export async function createSourceIndexes(dbs: SourceDatabases, concurrency = 2): Promise<void> {
  await eachTable(SOURCE_TABLES, concurrency, async (table) => {
    await dbs[table.db].transaction().execute(async (trx) => {
      await sql`SET LOCAL maintenance_work_mem = '256MB'`.execute(trx);
      await addKey(trx, table);
      for (const index of table.indexes) {
        const name = `${table.table}_${index.join('_')}_idx`;
        await sql`CREATE INDEX IF NOT EXISTS ${sql.id(name)} ON ${tableRef(table)} (${cols(index)})`.execute(trx);
      }
    });
  });
}

/** Fresh planner statistics for every source table (after a bulk load the planner knows nothing). */
export async function analyzeSourceTables(dbs: SourceDatabases, concurrency = 2): Promise<void> {
  await eachTable(SOURCE_TABLES, concurrency, async (table) => {
    await sql`ANALYZE ${tableRef(table)}`.execute(dbs[table.db]);
  });
}

/** Drops every source table (only these: our own tables share the members schema). */
export async function dropSourceTables(dbs: SourceDatabases): Promise<void> {
  for (const t of SOURCE_TABLES) await sql`DROP TABLE IF EXISTS ${tableRef(t)}`.execute(dbs[t.db]);
}
