import { sql, type Kysely } from 'kysely';

/**
 * The source systems' schemas, as production has them (quoted camelCase, the real ID type mismatches included:
 * challengeResult.userId TEXT, ChallengeWinner.userId INT, member.userId BIGINT). We do not own these; the seed
 * creates them so a fresh machine has something real to migrate. Indexes are created after bulk load.
 */

export async function createMembersSource(db: Kysely<any>): Promise<void> {
  await sql`CREATE SCHEMA IF NOT EXISTS members`.execute(db);
  await sql`
    CREATE TABLE IF NOT EXISTS members."member" (
      "userId" BIGINT PRIMARY KEY,
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
      id BIGINT PRIMARY KEY,
      "userId" BIGINT NOT NULL,
      challenges INT, wins INT,
      "mostRecentSubmission" TIMESTAMPTZ, "mostRecentEventDate" TIMESTAMPTZ
    );
    CREATE TABLE IF NOT EXISTS members."memberDevelopStatsItem" (
      id BIGINT PRIMARY KEY,
      "developStatsId" BIGINT NOT NULL,
      name TEXT NOT NULL,
      "subTrackId" INT NOT NULL,
      challenges INT, wins INT,
      rating INT, volatility INT, "maxRating" INT, "minRating" INT,
      "overallRank" INT, "countryRank" INT, "schoolRank" INT, "overallPercentile" DOUBLE PRECISION,
      "mostRecentSubmission" TIMESTAMPTZ, "mostRecentEventDate" TIMESTAMPTZ
    );
    CREATE TABLE IF NOT EXISTS members."memberDesignStats" (
      id BIGINT PRIMARY KEY,
      "userId" BIGINT NOT NULL,
      challenges INT, wins INT,
      "mostRecentSubmission" TIMESTAMPTZ, "mostRecentEventDate" TIMESTAMPTZ
    );
    CREATE TABLE IF NOT EXISTS members."memberDesignStatsItem" (
      id BIGINT PRIMARY KEY,
      "designStatsId" BIGINT NOT NULL,
      name TEXT NOT NULL,
      "subTrackId" INT NOT NULL,
      challenges INT, wins INT, submissions INT, "passedScreening" INT, "avgPlacement" DOUBLE PRECISION,
      "mostRecentSubmission" TIMESTAMPTZ, "mostRecentEventDate" TIMESTAMPTZ
    );
    CREATE TABLE IF NOT EXISTS members."memberDataScienceStats" (
      id BIGINT PRIMARY KEY,
      "userId" BIGINT NOT NULL,
      challenges INT, wins INT,
      "mostRecentSubmission" TIMESTAMPTZ, "mostRecentEventDate" TIMESTAMPTZ
    );
    CREATE TABLE IF NOT EXISTS members."memberSrmStats" (
      id BIGINT PRIMARY KEY,
      "dataScienceStatsId" BIGINT NOT NULL,
      challenges INT, wins INT,
      rating INT, percentile DOUBLE PRECISION, rank INT, "countryRank" INT, "schoolRank" INT,
      volatility INT, "maximumRating" INT, "minimumRating" INT, "defaultLanguage" TEXT, competitions INT,
      "mostRecentEventName" TEXT, "mostRecentEventDate" TIMESTAMPTZ, "mostRecentSubmission" TIMESTAMPTZ
    );
    CREATE TABLE IF NOT EXISTS members."memberMarathonStats" (
      id BIGINT PRIMARY KEY,
      "dataScienceStatsId" BIGINT NOT NULL,
      challenges INT, wins INT,
      rating INT, percentile DOUBLE PRECISION, rank INT, "countryRank" INT, "schoolRank" INT,
      volatility INT, "maximumRating" INT, "minimumRating" INT, "defaultLanguage" TEXT, competitions INT,
      "avgRank" DOUBLE PRECISION, "avgNumSubmissions" DOUBLE PRECISION, "bestRank" INT,
      "topFiveFinishes" INT, "topTenFinishes" INT,
      "mostRecentEventName" TEXT, "mostRecentEventDate" TIMESTAMPTZ, "mostRecentSubmission" TIMESTAMPTZ
    );
    CREATE TABLE IF NOT EXISTS members."memberHistoryStats" (
      id BIGINT PRIMARY KEY,
      "userId" BIGINT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS members."memberDevelopHistoryStats" (
      id BIGINT PRIMARY KEY,
      "historyStatsId" BIGINT NOT NULL,
      "challengeId" BIGINT NOT NULL,
      "challengeName" TEXT NOT NULL,
      "ratingDate" TIMESTAMPTZ NOT NULL,
      "newRating" INT,
      "subTrack" TEXT NOT NULL,
      "subTrackId" INT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS members."memberDataScienceHistoryStats" (
      id BIGINT PRIMARY KEY,
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
}

export async function createChallengesSource(db: Kysely<any>): Promise<void> {
  await sql`CREATE SCHEMA IF NOT EXISTS challenges`.execute(db);
  await sql`
    CREATE TABLE IF NOT EXISTS challenges."ChallengeTrack" (
      id UUID PRIMARY KEY,
      name TEXT NOT NULL,
      abbreviation TEXT NOT NULL,
      track TEXT NOT NULL,
      "isActive" BOOLEAN NOT NULL DEFAULT true,
      "legacyId" INT
    );
    CREATE TABLE IF NOT EXISTS challenges."ChallengeType" (
      id UUID PRIMARY KEY,
      name TEXT NOT NULL,
      abbreviation TEXT NOT NULL,
      "isActive" BOOLEAN NOT NULL DEFAULT true,
      "isTask" BOOLEAN NOT NULL DEFAULT false
    );
    CREATE TABLE IF NOT EXISTS challenges."Challenge" (
      id UUID PRIMARY KEY,
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
      id BIGINT PRIMARY KEY,
      "challengeId" UUID NOT NULL,
      name TEXT NOT NULL,
      value TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS challenges."ChallengeWinner" (
      id BIGINT PRIMARY KEY,
      "challengeId" UUID NOT NULL,
      "userId" INT NOT NULL,
      handle TEXT NOT NULL,
      placement INT NOT NULL,
      type TEXT NOT NULL
    );
  `.execute(db);
}

export async function createReviewsSource(db: Kysely<any>): Promise<void> {
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
      "updatedAt" TIMESTAMPTZ NOT NULL,
      PRIMARY KEY ("challengeId", "userId")
    );
    CREATE TABLE IF NOT EXISTS reviews.submission (
      id UUID PRIMARY KEY,
      "challengeId" TEXT NOT NULL,
      "memberId" TEXT NOT NULL,
      status TEXT NOT NULL,
      type TEXT NOT NULL DEFAULT 'CONTEST_SUBMISSION',
      "finalScore" DOUBLE PRECISION,
      "submittedDate" TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE IF NOT EXISTS reviews."reviewSummation" (
      id UUID PRIMARY KEY,
      "submissionId" UUID NOT NULL,
      "aggregateScore" DOUBLE PRECISION,
      "isPassing" BOOLEAN,
      "isFinal" BOOLEAN,
      "reviewedDate" TIMESTAMPTZ,
      "createdAt" TIMESTAMPTZ NOT NULL
    );
  `.execute(db);
}
