import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Databases } from '../../store/db';
import type { AnomalyKind } from './profile';

/**
 * The messy cases the seed injects, each with the SQL that finds it in the data. The seed's summary reports how
 * many it injected; these queries count the same thing, so tests (and backfill/parity code) can rely on them.
 * Clean seeded data never matches any of them: real scores are > 0, every participant has a placement ≥ 1, every
 * submission's latest summation is final (true or null) with a score > 0, and so on.
 */

type Definition = {
  /** what one unit of the count is */
  description: string;
  /** databases the query touches: a query over two runs only when both are one database */
  databases: readonly ('members' | 'challenges' | 'reviews')[];
  query: RawBuilder<{ n: number }>;
};

export const ANOMALY_DEFINITIONS: Record<AnomalyKind, Definition> = {
  memberMissing: {
    description: 'user ids that challengeResult (and the legacy stats) reference but `member` lacks',
    databases: ['members', 'reviews'],
    query: sql`SELECT count(DISTINCT cr."userId")::int AS n FROM reviews."challengeResult" cr
      WHERE NOT EXISTS (SELECT 1 FROM members."member" m WHERE m."userId" = cr."userId"::bigint)`,
  },
  challengeNoRatingMetadata: {
    description: 'challenges with no rated / isRated / unrated metadata row (legacy rated those of rated kinds)',
    databases: ['challenges'],
    query: sql`SELECT count(*)::int AS n FROM challenges."Challenge" c
      WHERE NOT EXISTS (SELECT 1 FROM challenges."ChallengeMetadata" md
                        WHERE md."challengeId" = c.id AND md.name IN ('rated', 'isRated', 'unrated'))`,
  },
  marathonMatchUnderDevelopmentTrack: {
    description: 'Marathon Match challenges filed under the DEVELOPMENT track',
    databases: ['challenges'],
    query: sql`SELECT count(*)::int AS n FROM challenges."Challenge" c
      JOIN challenges."ChallengeType" ty ON ty.id = c."typeId"
      JOIN challenges."ChallengeTrack" tr ON tr.id = c."trackId"
      WHERE ty.name = 'Marathon Match' AND tr.track = 'DEVELOPMENT'`,
  },
  legacyMarathonHistoryAlias: {
    description:
      'legacy MM history rows named "MM <round>" under the old round id (10000 + round, no Challenge has it as ' +
      'legacyId) while the challenge is "Marathon Match <round>": matched only by round number',
    databases: ['members'],
    query: sql`SELECT count(*)::int AS n FROM members."memberDataScienceHistoryStats"
      WHERE "subTrack" = 'MARATHON_MATCH' AND "challengeName" ~ '^MM [0-9]+$'`,
  },
  submissionDeleted: {
    description: 'Marathon Match submissions with status DELETED (their summations look normal)',
    databases: ['reviews'],
    query: sql`SELECT count(*)::int AS n FROM reviews.submission WHERE status = 'DELETED'`,
  },
  summationNoFinal: {
    description: 'submissions whose summations are all isFinal = false (so the latest is not final)',
    databases: ['reviews'],
    query: sql`SELECT count(*)::int AS n FROM (
      SELECT "submissionId" FROM reviews."reviewSummation" GROUP BY "submissionId" HAVING bool_and("isFinal" IS FALSE)) s`,
  },
  summationSupersededFinal: {
    description: 'submissions with two final summations: an earlier, higher one superseded by the latest',
    databases: ['reviews'],
    query: sql`SELECT count(*)::int AS n FROM (
      SELECT "submissionId" FROM reviews."reviewSummation" WHERE "isFinal" IS NOT FALSE
      GROUP BY "submissionId" HAVING count(*) > 1) s`,
  },
  summationZeroScore: {
    description: 'submissions whose final summation has aggregateScore 0 (the score is only on submission.finalScore)',
    databases: ['reviews'],
    query: sql`SELECT count(DISTINCT "submissionId")::int AS n FROM reviews."reviewSummation" WHERE "aggregateScore" = 0`,
  },
  scorePlaceholder: {
    description: 'challengeResult rows with a placeholder finalScore of 0 or −1',
    databases: ['reviews'],
    query: sql`SELECT count(*)::int AS n FROM reviews."challengeResult" WHERE "finalScore" IN (0, -1)`,
  },
  partialPlacement: {
    description: 'challengeResult rows with placement NULL or 0 (others of the challenge are placed)',
    databases: ['reviews'],
    query: sql`SELECT count(*)::int AS n FROM reviews."challengeResult" WHERE placement IS NULL OR placement = 0`,
  },
  invalidSubmission: {
    description: 'challengeResult rows with validSubmission = false',
    databases: ['reviews'],
    query: sql`SELECT count(*)::int AS n FROM reviews."challengeResult" WHERE "validSubmission" = false`,
  },
  statsWithoutHistory: {
    description: 'members with a rating in a legacy stats table but no memberHistoryStats row (so no history rows)',
    databases: ['members'],
    query: sql`SELECT count(*)::int AS n FROM (
        SELECT s."userId" FROM members."memberDevelopStats" s
          JOIN members."memberDevelopStatsItem" i ON i."developStatsId" = s.id WHERE i.rating IS NOT NULL
        UNION SELECT s."userId" FROM members."memberDataScienceStats" s
          JOIN members."memberMarathonStats" x ON x."dataScienceStatsId" = s.id WHERE x.rating IS NOT NULL
        UNION SELECT s."userId" FROM members."memberDataScienceStats" s
          JOIN members."memberSrmStats" x ON x."dataScienceStatsId" = s.id WHERE x.rating IS NOT NULL
      ) rated
      WHERE NOT EXISTS (SELECT 1 FROM members."memberHistoryStats" h WHERE h."userId" = rated."userId")`,
  },
};

async function count(db: Kysely<any>, query: RawBuilder<{ n: number }>): Promise<number> {
  const { rows } = await query.execute(db);
  return rows[0]?.n ?? 0;
}

/** memberMissing across two databases: the distinct result user ids, checked against `member` in batches. */
async function memberMissingAcross(dbs: Databases): Promise<number> {
  const { rows } = await sql<{ userId: string }>`SELECT DISTINCT "userId" FROM reviews."challengeResult"`.execute(dbs.reviews);
  const ids = rows.map((r) => Number(r.userId));
  let found = 0;
  for (let i = 0; i < ids.length; i += 10_000) {
    const batch = ids.slice(i, i + 10_000);
    found += await count(dbs.members, sql`SELECT count(*)::int AS n FROM members."member" WHERE "userId" = ANY(${batch}::bigint[])`);
  }
  return ids.length - found;
}

/** Counts every anomaly kind in the data as it is stored now. */
export async function countAnomalies(dbs: Databases): Promise<Record<AnomalyKind, number>> {
  const out = {} as Record<AnomalyKind, number>;
  for (const [kind, def] of Object.entries(ANOMALY_DEFINITIONS) as [AnomalyKind, Definition][]) {
    // memberMissing is the one definition over two databases; apart, it is counted in two steps
    if (kind === 'memberMissing' && !dbs.sameDatabase) out[kind] = await memberMissingAcross(dbs);
    else out[kind] = await count(dbs[def.databases[0]!], def.query);
  }
  return out;
}
