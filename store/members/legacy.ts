import { sql, type Kysely } from 'kysely';
import { DEVELOP_ITEM_KEYS, dataScienceHistoryKey, designItemKey, MARATHON_KEY, SRM_KEY, type UnifiedKey } from '../../domain/mapping';
import { iso, sortHistory, sortTracks, type HistoryEntry, type TrackStats } from '../../domain/member-stats';
import { currentStreamItem } from '../legacy-stats';

/**
 * Member stats read from the legacy tables, mapped onto unified (track, type) keys with domain/mapping.ts — the
 * mapping the backfill uses — so a member's legacy and unified answers line up entry by entry.
 */

interface LegacyRow {
  family: 'develop' | 'design' | 'srm' | 'marathon';
  /** the parent stats row: items merge within it; duplicate parents → the most recent */
  parentId: number;
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

/** A legacy item with its sub-track name, while items on one key are merged. */
interface Item {
  name: string;
  t: TrackStats;
}

/** Design sub-tracks landing on one key: sum counts, latest dates (no ratings). */
function sumCounts(into: TrackStats, add: TrackStats): TrackStats {
  return {
    ...into,
    challenges: into.challenges + add.challenges,
    wins: into.wins + add.wins,
    mostRecentEventDate: later(into.mostRecentEventDate, add.mostRecentEventDate),
    mostRecentSubmission: later(into.mostRecentSubmission, add.mostRecentSubmission),
  };
}

const minOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
const maxOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/**
 * The Development stream's items on one key (DEVELOPMENT and CODE): counts add up, the rating fields are the
 * latest rated item's (its rating is the stream's current one), max/min over both — store/legacy-stats.ts's rule.
 */
function streamMerge(into: Item, add: Item, currentName: string | undefined): Item {
  // store/legacy-stats.ts's order: rated first, then the current sub-track, then the latest, then by name
  const rank = (x: Item) => [
    x.t.rating === null ? 1 : 0,
    x.name === currentName ? 0 : 1,
    -(Date.parse(x.t.mostRecentEventDate ?? '') || -Infinity),
  ];
  const [a, b] = [rank(into), rank(add)];
  const cmp = b[0]! - a[0]! || b[1]! - a[1]! || b[2]! - a[2]! || (add.name < into.name ? -1 : 1);
  const current = (cmp < 0 ? add : into).t;
  return { name: cmp < 0 ? add.name : into.name, t: streamFields(into.t, add.t, current) };
}

function streamFields(into: TrackStats, add: TrackStats, current: TrackStats): TrackStats {
  return {
    ...sumCounts(into, add),
    rating: current.rating,
    volatility: current.volatility,
    globalRank: current.globalRank,
    countryRank: current.countryRank,
    schoolRank: current.schoolRank,
    percentile: current.percentile,
    maxRating: maxOf(into.maxRating, add.maxRating),
    minRating: minOf(into.minRating, add.minRating),
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
    SELECT 'develop' AS family, p.id AS "parentId", i.name, i.challenges, i.wins, i.rating, i.volatility, i."maxRating", i."minRating",
           i."overallRank" AS "globalRank", i."countryRank", i."schoolRank", i."overallPercentile" AS percentile, ${NO_MM},
           i."mostRecentEventDate", i."mostRecentSubmission"
    FROM members."memberDevelopStats" p JOIN members."memberDevelopStatsItem" i ON i."developStatsId" = p.id
    WHERE p."userId" = ${userId}
    UNION ALL
    SELECT 'design', p.id, i.name, i.challenges, i.wins, ${NO_RATING}, ${NO_MM}, i."mostRecentEventDate", i."mostRecentSubmission"
    FROM members."memberDesignStats" p JOIN members."memberDesignStatsItem" i ON i."designStatsId" = p.id
    WHERE p."userId" = ${userId}
    UNION ALL
    SELECT 'srm', p.id, 'SRM', s.challenges, s.wins, ${DS_RATING}, ${NO_MM}, s."mostRecentEventDate", s."mostRecentSubmission"
    FROM members."memberDataScienceStats" p JOIN members."memberSrmStats" s ON s."dataScienceStatsId" = p.id
    WHERE p."userId" = ${userId}
    UNION ALL
    SELECT 'marathon', p.id, 'MARATHON_MATCH', s.challenges, s.wins, ${DS_RATING}, s."avgRank", s."avgNumSubmissions", s."bestRank",
           s."topFiveFinishes", s."topTenFinishes", s."mostRecentEventDate", s."mostRecentSubmission"
    FROM members."memberDataScienceStats" p JOIN members."memberMarathonStats" s ON s."dataScienceStatsId" = p.id
    WHERE p."userId" = ${userId}`.execute(db);
  const cur = await sql<{ subTrack: string }>`
    SELECT "subTrack" FROM (${currentStreamItem(sql`SELECT ${userId}::bigint AS "userId"`)}) c`.execute(db);
  const currentName = cur.rows[0]?.subTrack;
  // items merge within their parent row; of duplicate parent rows the most recent wins
  const byParent = new Map<string, Item>();
  for (const r of rows) {
    const key = keyOf(r);
    if (!key) continue; // a develop sub-track the mapping does not know: the backfill skips it too
    const { family: _f, name: _n, parentId: _p, ...fields } = r;
    const entry: TrackStats = {
      ...fields,
      track: key.track,
      type: key.type,
      challenges: r.challenges ?? 0,
      wins: r.wins ?? 0,
      mostRecentEventDate: iso(r.mostRecentEventDate),
      mostRecentSubmission: iso(r.mostRecentSubmission),
    };
    const k = `${r.family}/${r.parentId}/${key.track}/${key.type}`;
    const prev = byParent.get(k);
    const item = { name: r.name, t: entry };
    byParent.set(
      k,
      !prev ? item : r.family === 'design' ? { name: prev.name, t: sumCounts(prev.t, entry) } : streamMerge(prev, item, currentName),
    );
  }
  const byKey = new Map<string, TrackStats>();
  for (const { t } of byParent.values()) {
    const k = `${t.track}/${t.type}`;
    const prev = byKey.get(k);
    byKey.set(k, prev ? moreRecent(prev, t) : t);
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
