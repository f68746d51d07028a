import { sql, type RawBuilder } from 'kysely';
import type { Catalog } from '../domain/catalog';
import { DEVELOP_STREAM_ITEMS, MARATHON_KEY, SRM_KEY, type UnifiedKey } from '../domain/mapping';
import { designMap, developMap, keyIds } from './catalog';
import { namedColumns } from './sql';

/**
 * The legacy stats as unified rows: one row per (member, unified key), the rule both the backfill (what it
 * preserves) and parity (what it compares against) read legacy by. Mapping: domain/mapping.ts.
 * - develop items on one key (the Development stream: DEVELOPMENT and CODE) add up their counts and take the
 *   rating fields of the current item (its rating is the stream's current one: see `latest`), max/min over both;
 * - design sub-tracks on one key add up (no ratings);
 * - SRM and Marathon Match stats as they are;
 * - duplicate parent rows (real data has them): the most recent wins.
 */

/** The relation's columns (unified names) and types, so every branch names what it sets. */
export const LEGACY_STATS = {
  userId: 'bigint',
  track_id: 'uuid',
  type_id: 'uuid',
  family: 'text',
  challenges: 'int',
  wins: 'int',
  rating: 'int',
  volatility: 'int',
  maxRating: 'int',
  minRating: 'int',
  globalRank: 'int',
  countryRank: 'int',
  schoolRank: 'int',
  percentile: 'float8',
  avgRank: 'float8',
  avgNumSubmissions: 'float8',
  bestRank: 'int',
  topFiveFinishes: 'int',
  topTenFinishes: 'int',
  mostRecentEventDate: 'timestamptz',
  mostRecentSubmission: 'timestamptz',
} as const;
type Column = keyof typeof LEGACY_STATS;
const row = (values: Partial<Record<Column, RawBuilder<unknown>>>) => namedColumns(LEGACY_STATS, values);

/**
 * Of the items on one key, the value of the current one: rated, and the sub-track of the member's latest legacy
 * history row on the stream (an item's mostRecentEventDate also moves with unrated events, so it cannot tell which
 * rating is the latest); without history, the latest item.
 */
const latest = (col: string) =>
  sql`(array_agg(i.${sql.id(col)} ORDER BY i.rating IS NULL, i.name IS DISTINCT FROM cur."subTrack", i."mostRecentEventDate" DESC NULLS LAST, i.name))[1]`;

/** Per member in scope: the sub-track of their latest rated legacy history row on the Development stream. */
export function currentStreamItem(members: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`
    SELECT DISTINCT ON (h."userId") h."userId", d."subTrack"
    FROM (${members}) q
    JOIN members."memberHistoryStats" h ON h."userId" = q."userId"
    JOIN members."memberDevelopHistoryStats" d ON d."historyStatsId" = h.id
    WHERE d."subTrack" = ANY(${[...DEVELOP_STREAM_ITEMS]}::text[]) AND d."newRating" IS NOT NULL
    ORDER BY h."userId", d."ratingDate" DESC, d."challengeId" DESC`;
}

const fixedKey = (c: Catalog, k: UnifiedKey) => {
  const [track, type] = keyIds(c, k);
  return { userId: sql`p."userId"`, track_id: sql`${track}::uuid`, type_id: sql`${type}::uuid`, family: sql`'DATA_SCIENCE'` };
};
const dataScience = {
  challenges: sql`s.challenges`,
  wins: sql`s.wins`,
  rating: sql`s.rating`,
  volatility: sql`s.volatility`,
  maxRating: sql`s."maximumRating"`,
  minRating: sql`s."minimumRating"`,
  globalRank: sql`s.rank`,
  countryRank: sql`s."countryRank"`,
  schoolRank: sql`s."schoolRank"`,
  percentile: sql`s.percentile`,
  mostRecentEventDate: sql`s."mostRecentEventDate"`,
  mostRecentSubmission: sql`s."mostRecentSubmission"`,
};

/** `members`: a query yielding "userId" (the batch, the parity scope). */
export function legacyStatsRelation(c: Catalog, members: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`
    SELECT DISTINCT ON ("userId", track_id, type_id) * FROM (
      SELECT ${row({
        userId: sql`p."userId"`,
        track_id: sql`m.track_id`,
        type_id: sql`m.type_id`,
        family: sql`'DEVELOP'`,
        challenges: sql`sum(i.challenges)::int`,
        wins: sql`sum(i.wins)::int`,
        rating: latest('rating'),
        volatility: latest('volatility'),
        maxRating: sql`max(i."maxRating")`,
        minRating: sql`min(i."minRating")`,
        globalRank: latest('overallRank'),
        countryRank: latest('countryRank'),
        schoolRank: latest('schoolRank'),
        percentile: latest('overallPercentile'),
        mostRecentEventDate: sql`max(i."mostRecentEventDate")`,
        mostRecentSubmission: sql`max(i."mostRecentSubmission")`,
      })}
      FROM (${members}) p
      JOIN members."memberDevelopStats" ds ON ds."userId" = p."userId"
      JOIN members."memberDevelopStatsItem" i ON i."developStatsId" = ds.id
      JOIN ${developMap(c)} AS m(name, track_id, type_id) ON m.name = i.name
      LEFT JOIN (${currentStreamItem(members)}) cur ON cur."userId" = p."userId"
      GROUP BY p."userId", ds.id, m.track_id, m.type_id
      UNION ALL
      SELECT ${row({
        userId: sql`p."userId"`,
        track_id: sql`m.track_id`,
        type_id: sql`m.type_id`,
        family: sql`'DESIGN'`,
        challenges: sql`sum(i.challenges)::int`,
        wins: sql`sum(i.wins)::int`,
        mostRecentEventDate: sql`max(i."mostRecentEventDate")`,
        mostRecentSubmission: sql`max(i."mostRecentSubmission")`,
      })}
      FROM (${members}) p
      JOIN members."memberDesignStats" ds ON ds."userId" = p."userId"
      JOIN members."memberDesignStatsItem" i ON i."designStatsId" = ds.id
      JOIN ${designMap(c)} AS m(name, track_id, type_id) ON m.name = i.name
      GROUP BY p."userId", ds.id, m.track_id, m.type_id
      UNION ALL
      SELECT ${row({ ...fixedKey(c, SRM_KEY), ...dataScience })}
      FROM (${members}) p
      JOIN members."memberDataScienceStats" d ON d."userId" = p."userId"
      JOIN members."memberSrmStats" s ON s."dataScienceStatsId" = d.id
      UNION ALL
      SELECT ${row({
        ...fixedKey(c, MARATHON_KEY),
        ...dataScience,
        avgRank: sql`s."avgRank"`,
        avgNumSubmissions: sql`s."avgNumSubmissions"`,
        bestRank: sql`s."bestRank"`,
        topFiveFinishes: sql`s."topFiveFinishes"`,
        topTenFinishes: sql`s."topTenFinishes"`,
      })}
      FROM (${members}) p
      JOIN members."memberDataScienceStats" d ON d."userId" = p."userId"
      JOIN members."memberMarathonStats" s ON s."dataScienceStatsId" = d.id
    ) legacy
    ORDER BY "userId", track_id, type_id, "mostRecentEventDate" DESC NULLS LAST, challenges DESC NULLS LAST`;
}
