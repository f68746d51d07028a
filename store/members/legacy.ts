import { sql, type Kysely } from 'kysely';
import { DEVELOP_ITEM_KEYS, dataScienceHistoryKey, designItemKey, MARATHON_KEY, SRM_KEY, type UnifiedKey } from '../../domain/mapping';
import { iso, sortHistory, sortTracks, type HistoryEntry, type TrackStats } from '../../domain/member-stats';

/**
 * Member stats read from the legacy tables, mapped onto unified (track, type) keys with domain/mapping.ts — the
 * mapping the backfill uses — so a member's legacy and unified answers line up entry by entry.
 */

interface LegacyRow {
  family: 'develop' | 'design' | 'srm' | 'marathon';
  name: string;
  challenges: number | null;
  wins: number | null;
  rating: number | null;
  volatility: number | null;
  maxRating: number | null;
  minRating: number | null;
  globalRank: number | null;
  countryRank: number | null;
  schoolRank: number | null;
  percentile: number | null;
  avgRank: number | null;
  avgNumSubmissions: number | null;
  bestRank: number | null;
  topFiveFinishes: number | null;
  topTenFinishes: number | null;
  mostRecentEventDate: Date | null;
  mostRecentSubmission: Date | null;
}

function keyOf(r: LegacyRow): UnifiedKey | undefined {
  switch (r.family) {
    case 'develop':
      return DEVELOP_ITEM_KEYS[r.name];
    case 'design':
      return designItemKey(r.name);
    case 'srm':
      return SRM_KEY;
    case 'marathon':
      return MARATHON_KEY;
  }
}

const later = (a: string | null, b: string | null) => (a === null ? b : b === null ? a : a > b ? a : b);

/** Design sub-tracks landing on one key: sum counts, latest dates, rated fields of the highest rating. */
function merge(into: TrackStats, add: TrackStats): TrackStats {
  const rated = add.rating !== null && (into.rating === null || add.rating > into.rating) ? add : into;
  return {
    ...rated,
    track: into.track,
    type: into.type,
    challenges: into.challenges + add.challenges,
    wins: into.wins + add.wins,
    mostRecentEventDate: later(into.mostRecentEventDate, add.mostRecentEventDate),
    mostRecentSubmission: later(into.mostRecentSubmission, add.mostRecentSubmission),
  };
}

function moreRecent(a: TrackStats, b: TrackStats): TrackStats {
  const da = a.mostRecentEventDate ?? '';
  const db = b.mostRecentEventDate ?? '';
  if (da !== db) return da > db ? a : b;
  return b.challenges > a.challenges ? b : a;
}

const NO_RATING = sql`NULL::int AS rating, NULL::int AS volatility, NULL::int AS "maxRating", NULL::int AS "minRating",
  NULL::int AS "globalRank", NULL::int AS "countryRank", NULL::int AS "schoolRank", NULL::float8 AS percentile`;
const NO_MM = sql`NULL::float8 AS "avgRank", NULL::float8 AS "avgNumSubmissions", NULL::int AS "bestRank",
  NULL::int AS "topFiveFinishes", NULL::int AS "topTenFinishes"`;
const DS_RATING = sql`s.rating, s.volatility, s."maximumRating" AS "maxRating", s."minimumRating" AS "minRating",
  s.rank AS "globalRank", s."countryRank", s."schoolRank", s.percentile`;

export async function legacyTracks(db: Kysely<any>, userId: number): Promise<TrackStats[]> {
  const { rows } = await sql<LegacyRow>`
    SELECT 'develop' AS family, i.name, i.challenges, i.wins, i.rating, i.volatility, i."maxRating", i."minRating",
           i."overallRank" AS "globalRank", i."countryRank", i."schoolRank", i."overallPercentile" AS percentile, ${NO_MM},
           i."mostRecentEventDate", i."mostRecentSubmission"
    FROM members."memberDevelopStats" p JOIN members."memberDevelopStatsItem" i ON i."developStatsId" = p.id
    WHERE p."userId" = ${userId}
    UNION ALL
    SELECT 'design', i.name, i.challenges, i.wins, ${NO_RATING}, ${NO_MM}, i."mostRecentEventDate", i."mostRecentSubmission"
    FROM members."memberDesignStats" p JOIN members."memberDesignStatsItem" i ON i."designStatsId" = p.id
    WHERE p."userId" = ${userId}
    UNION ALL
    SELECT 'srm', 'SRM', s.challenges, s.wins, ${DS_RATING}, ${NO_MM}, s."mostRecentEventDate", s."mostRecentSubmission"
    FROM members."memberDataScienceStats" p JOIN members."memberSrmStats" s ON s."dataScienceStatsId" = p.id
    WHERE p."userId" = ${userId}
    UNION ALL
    SELECT 'marathon', 'MARATHON_MATCH', s.challenges, s.wins, ${DS_RATING}, s."avgRank", s."avgNumSubmissions", s."bestRank",
           s."topFiveFinishes", s."topTenFinishes", s."mostRecentEventDate", s."mostRecentSubmission"
    FROM members."memberDataScienceStats" p JOIN members."memberMarathonStats" s ON s."dataScienceStatsId" = p.id
    WHERE p."userId" = ${userId}`.execute(db);
  const byKey = new Map<string, TrackStats>();
  for (const r of rows) {
    const key = keyOf(r);
    if (!key) continue; // a develop sub-track the mapping does not know: the backfill skips it too
    const { family: _f, name: _n, ...fields } = r;
    const entry: TrackStats = {
      ...fields,
      track: key.track,
      type: key.type,
      challenges: r.challenges ?? 0,
      wins: r.wins ?? 0,
      mostRecentEventDate: iso(r.mostRecentEventDate),
      mostRecentSubmission: iso(r.mostRecentSubmission),
    };
    const k = `${key.track}/${key.type}`;
    const prev = byKey.get(k);
    // the backfill's rule: design sub-tracks add up; anything else twice on one key (duplicate parent rows) keeps
    // the most recent row (then the one with more challenges)
    byKey.set(k, !prev ? entry : r.family === 'design' ? merge(prev, entry) : moreRecent(prev, entry));
  }
  return sortTracks([...byKey.values()]);
}

interface LegacyHistoryRow {
  family: 'develop' | 'data_science';
  subTrack: string;
  challengeId: string;
  challengeName: string;
  date: Date;
  rating: number | null;
  placement: number | null;
  percentile: number | null;
}

export async function legacyHistory(db: Kysely<any>, userId: number): Promise<HistoryEntry[]> {
  const { rows } = await sql<LegacyHistoryRow>`
    SELECT 'develop' AS family, d."subTrack", d."challengeId"::text AS "challengeId", d."challengeName", d."ratingDate" AS date,
           d."newRating" AS rating, NULL::int AS placement, NULL::float8 AS percentile
    FROM members."memberHistoryStats" h JOIN members."memberDevelopHistoryStats" d ON d."historyStatsId" = h.id
    WHERE h."userId" = ${userId}
    UNION ALL
    SELECT 'data_science', d."subTrack", d."challengeId"::text, d."challengeName", d.date, d.rating, d.placement, d.percentile
    FROM members."memberHistoryStats" h JOIN members."memberDataScienceHistoryStats" d ON d."historyStatsId" = h.id
    WHERE h."userId" = ${userId}`.execute(db);
  const out: HistoryEntry[] = [];
  for (const r of rows) {
    const key = r.family === 'develop' ? DEVELOP_ITEM_KEYS[r.subTrack] : dataScienceHistoryKey(r.subTrack);
    if (!key) continue;
    out.push({
      track: key.track,
      type: key.type,
      challengeId: r.challengeId,
      challengeName: r.challengeName,
      date: r.date.toISOString(),
      rating: r.rating,
      placement: r.placement,
      percentile: r.percentile,
    });
  }
  return sortHistory(out);
}
