import { sql, type Kysely, type Migration } from 'kysely';

/** The unified member statistics the cutover builds (members schema, owned by us). */
export const unifiedStats: Migration = {
  async up(db: Kysely<any>) {
    await sql`CREATE SCHEMA IF NOT EXISTS members`.execute(db);
    await sql`
      CREATE TABLE members."memberStats" (
        id BIGSERIAL PRIMARY KEY,
        "userId" BIGINT NOT NULL,
        "trackId" UUID NOT NULL,
        "typeId" UUID NOT NULL,
        challenges INT NOT NULL DEFAULT 0,
        wins INT NOT NULL DEFAULT 0,
        rating INT,
        volatility INT,
        "maxRating" INT,
        "minRating" INT,
        "globalRank" INT,
        "countryRank" INT,
        "schoolRank" INT,
        percentile DOUBLE PRECISION,
        "avgRank" DOUBLE PRECISION,
        "avgNumSubmissions" DOUBLE PRECISION,
        "bestRank" INT,
        "topFiveFinishes" INT,
        "topTenFinishes" INT,
        "mostRecentEventDate" TIMESTAMPTZ,
        "mostRecentSubmission" TIMESTAMPTZ,
        "isPrivate" BOOLEAN NOT NULL DEFAULT false,
        "createdBy" TEXT NOT NULL DEFAULT 'cutover',
        "createdAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "updatedAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        CONSTRAINT "memberStats_user_track_type" UNIQUE ("userId", "trackId", "typeId")
      );
      CREATE INDEX "memberStats_rank" ON members."memberStats" ("trackId", "typeId", "isPrivate", rating DESC) WHERE rating IS NOT NULL;

      CREATE TABLE members."memberStatsHistory" (
        id BIGSERIAL PRIMARY KEY,
        "userId" BIGINT NOT NULL,
        "trackId" UUID NOT NULL,
        "typeId" UUID NOT NULL,
        "challengeId" TEXT NOT NULL,
        "challengeName" TEXT,
        "oldRating" INT,
        "newRating" INT,
        "oldVolatility" INT,
        "newVolatility" INT,
        "globalRank" INT,
        "countryRank" INT,
        placement INT,
        percentile DOUBLE PRECISION,
        "eventDate" TIMESTAMPTZ NOT NULL,
        "mostRecent" BOOLEAN NOT NULL DEFAULT false,
        "createdBy" TEXT NOT NULL DEFAULT 'cutover',
        "createdAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "updatedAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        CONSTRAINT "memberStatsHistory_event" UNIQUE ("userId", "trackId", "typeId", "challengeId")
      );
      -- at most one mostRecent row per member track/type: writers must clear before they set
      CREATE UNIQUE INDEX "memberStatsHistory_mostRecent" ON members."memberStatsHistory" ("userId", "trackId", "typeId") WHERE "mostRecent";
      CREATE INDEX "memberStatsHistory_challenge" ON members."memberStatsHistory" ("challengeId");

      CREATE TABLE members."memberMaxRating" (
        "userId" BIGINT PRIMARY KEY,
        rating INT NOT NULL,
        track TEXT NOT NULL,
        "subTrack" TEXT NOT NULL,
        "ratingColor" TEXT NOT NULL,
        "updatedAt" TIMESTAMPTZ NOT NULL DEFAULT now()
      );
    `.execute(db);
  },
  async down(db: Kysely<any>) {
    await sql`DROP TABLE IF EXISTS members."memberMaxRating", members."memberStatsHistory", members."memberStats"`.execute(db);
  },
};
