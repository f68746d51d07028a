import { sql, type Kysely } from 'kysely';
import { DATA_SCIENCE_SUBTRACKS, DESIGN_SUBTRACKS, DEVELOP_SUBTRACKS } from '../../domain/catalog';
import { DEVELOP_STREAM_ITEMS } from '../../domain/mapping';
import type { HistoryRow, MemberState } from '../../domain/rating/replay';
import { currentStreamItem } from '../../store/legacy-stats';
import type { Rng } from '../seed/prng';
import type { StatsItem } from '../seed/profile';
import type { Stream } from './kinds';
import type { Entry } from './outcome';

/**
 * The legacy pipeline's share of a challenge ending: what the old system kept per member, updated the way the
 * seed's history accumulated it (scripts/seed/simulate.ts `accumulate` and `writeHistory`, written out by
 * legacy-stats.ts), so the API's legacy read path (store/members/legacy.ts) and parity (store/legacy-stats.ts) see
 * the challenge, and a rollback to legacy reads loses nothing:
 * - the item of the challenge's legacy sub-track (memberDevelopStatsItem / memberDesignStatsItem /
 *   memberMarathonStats / memberSrmStats) and its parent (memberDevelopStats / memberDesignStats /
 *   memberDataScienceStats): challenges, wins, submissions, most recent submission and event; for a rated event the
 *   rating, volatility, max/min, and the Marathon Match averages and finishes;
 * - for a rated event, one legacy history row per rated member (memberDevelopHistoryStats /
 *   memberDataScienceHistoryStats, under memberHistoryStats), keyed by the challenge's legacyId as legacy keys them.
 * Legacy ranks and percentiles are the old system's periodic computation: kept as they are (null on a new row).
 * Set-based: per table one read of the participants' rows, then one UPDATE and one INSERT from a JSON recordset.
 * Ids are max + 1: the caller holds the autopilot lock (end-challenge.ts), the only writer of these tables.
 */

/** scripts/seed/legacy-stats.ts LANGUAGES (not exported): a new data-science row's default language. */
const LANGUAGES = ['Java', 'C++', 'Python', 'C#'];

const round2 = (x: number) => Math.round(x * 100) / 100;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const time = (d: Date | null) => (d === null ? null : d.getTime());

/** Each member's legacy state on a stream before the event: what applyLegacyEvent (legacy-rating.ts) starts from. */
export async function legacyStates(db: Kysely<any>, stream: Stream, userIds: readonly string[]): Promise<Map<string, MemberState>> {
  const ids = userIds.map(Number);
  const out = new Map<string, MemberState>();
  if (stream === 'DEV') {
    // the current item (store/legacy-stats.ts's rule) carries the stream's rating; legacy history counts the ratings
    const r = await sql<{ userId: number; rating: number; volatility: number | null; challenges: number | null; n: number }>`
      WITH p AS (SELECT DISTINCT unnest(${ids}::bigint[]) AS "userId"),
      cur AS (${currentStreamItem(sql`SELECT "userId" FROM p`)}),
      item AS (
        SELECT DISTINCT ON (ds."userId") ds."userId", i.rating, i.volatility, sum(i.challenges) OVER (PARTITION BY ds.id)::int AS challenges
        FROM members."memberDevelopStats" ds JOIN members."memberDevelopStatsItem" i ON i."developStatsId" = ds.id
        LEFT JOIN cur c ON c."userId" = ds."userId"
        WHERE ds."userId" IN (SELECT "userId" FROM p) AND i.name = ANY(${[...DEVELOP_STREAM_ITEMS]}::text[])
        ORDER BY ds."userId", i.rating IS NULL, i.name IS DISTINCT FROM c."subTrack", i."mostRecentEventDate" DESC NULLS LAST, i.name),
      hist AS (
        SELECT h."userId", count(*)::int AS n
        FROM members."memberHistoryStats" h JOIN members."memberDevelopHistoryStats" d ON d."historyStatsId" = h.id
        WHERE h."userId" IN (SELECT "userId" FROM p) AND d."subTrack" = ANY(${[...DEVELOP_STREAM_ITEMS]}::text[]) AND d."newRating" IS NOT NULL
        GROUP BY h."userId")
      SELECT i."userId", i.rating, i.volatility, i.challenges, COALESCE(h.n, 0) AS n FROM item i LEFT JOIN hist h ON h."userId" = i."userId"`.execute(
      db,
    );
    // a member rated without history rows (the seed's statsWithoutHistory anomaly): the stream's challenge count stands in
    for (const x of r.rows)
      out.set(String(x.userId), { rating: x.rating, volatility: x.volatility, timesRated: x.n || Math.max(1, x.challenges ?? 1) });
    return out;
  }
  const table = stream === 'MM' ? 'memberMarathonStats' : 'memberSrmStats';
  const r = await sql<{ userId: number; rating: number | null; volatility: number | null; competitions: number | null }>`
    SELECT DISTINCT ON (d."userId") d."userId", s.rating, s.volatility, s.competitions
    FROM members."memberDataScienceStats" d JOIN ${sql.table(`members.${table}`)} s ON s."dataScienceStatsId" = d.id
    WHERE d."userId" = ANY(${ids}::bigint[])
    ORDER BY d."userId", s."mostRecentEventDate" DESC NULLS LAST, s.challenges DESC NULLS LAST, s.id DESC`.execute(db);
  for (const x of r.rows) out.set(String(x.userId), { rating: x.rating, volatility: x.volatility, timesRated: x.competitions ?? 0 });
  return out;
}

type Columns = Record<string, string>;
type Row = Record<string, unknown>;

function recordset(rows: readonly Row[], columns: Columns) {
  const defs = Object.entries(columns).map(([c, t]) => sql`${sql.id(c)} ${sql.raw(t)}`);
  return sql`jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(${sql.join(defs)})`;
}

/** Rows with an id already in the table are updated (every column), the others inserted: two statements at most. */
async function writeRows(db: Kysely<any>, table: string, columns: Columns, rows: readonly (Row & { isNew: boolean })[]): Promise<void> {
  const target = sql.table(`members.${table}`);
  const names = Object.keys(columns);
  const strip = (r: Row & { isNew: boolean }) => Object.fromEntries(names.map((n) => [n, r[n] ?? null]));
  const updates = rows.filter((r) => !r.isNew).map(strip);
  const inserts = rows.filter((r) => r.isNew).map(strip);
  if (updates.length > 0) {
    const set = names.filter((n) => n !== 'id').map((n) => sql`${sql.id(n)} = x.${sql.id(n)}`);
    await sql`UPDATE ${target} t SET ${sql.join(set)} FROM ${recordset(updates, columns)} WHERE t.id = x.id`.execute(db);
  }
  if (inserts.length > 0) {
    const cols = sql.join(names.map((n) => sql.id(n)));
    await sql`INSERT INTO ${target} (${cols}) SELECT ${sql.join(names.map((n) => sql`x.${sql.id(n)}`))} FROM ${recordset(inserts, columns)}`.execute(
      db,
    );
  }
}

/** Allocates ids after the table's largest (the caller holds the autopilot lock). */
async function idAllocator(db: Kysely<any>, table: string): Promise<() => number> {
  const r = await sql<{ id: number }>`SELECT COALESCE(max(id), 0)::bigint AS id FROM ${sql.table(`members.${table}`)}`.execute(db);
  let next = r.rows[0]!.id;
  return () => ++next;
}

export interface LegacyChallenge {
  id: string;
  name: string;
  legacyId: number;
  endAt: number;
  /** the legacy sub-track the challenge counts towards (null: legacy never counted this kind) */
  item: StatsItem;
  /** CODE challenges rated on the Development stream wrote CODE history rows */
  typeName: string;
}

export interface LegacyWrite {
  challenge: LegacyChallenge;
  entries: readonly Entry[];
  stream: Stream | null;
  /** the old system's rating of this event, by userId (empty when unrated) */
  rated: ReadonlyMap<string, HistoryRow>;
  rng: Rng;
}

export interface LegacyWritten {
  /** item rows written (updated or inserted), parent rows, history rows */
  items: number;
  parents: number;
  history: number;
}

const PARENT_COLUMNS: Columns = {
  id: 'bigint',
  userId: 'bigint',
  challenges: 'int',
  wins: 'int',
  mostRecentSubmission: 'timestamptz',
  mostRecentEventDate: 'timestamptz',
};

const FAMILY = {
  develop: {
    parent: 'memberDevelopStats',
    item: 'memberDevelopStatsItem',
    fk: 'developStatsId',
    columns: {
      id: 'bigint',
      developStatsId: 'bigint',
      name: 'text',
      subTrackId: 'int',
      challenges: 'int',
      wins: 'int',
      rating: 'int',
      volatility: 'int',
      maxRating: 'int',
      minRating: 'int',
      overallRank: 'int',
      countryRank: 'int',
      schoolRank: 'int',
      overallPercentile: 'float8',
      mostRecentSubmission: 'timestamptz',
      mostRecentEventDate: 'timestamptz',
    },
  },
  design: {
    parent: 'memberDesignStats',
    item: 'memberDesignStatsItem',
    fk: 'designStatsId',
    columns: {
      id: 'bigint',
      designStatsId: 'bigint',
      name: 'text',
      subTrackId: 'int',
      challenges: 'int',
      wins: 'int',
      submissions: 'int',
      passedScreening: 'int',
      avgPlacement: 'float8',
      mostRecentSubmission: 'timestamptz',
      mostRecentEventDate: 'timestamptz',
    },
  },
  marathon: {
    parent: 'memberDataScienceStats',
    item: 'memberMarathonStats',
    fk: 'dataScienceStatsId',
    columns: {
      id: 'bigint',
      dataScienceStatsId: 'bigint',
      challenges: 'int',
      wins: 'int',
      rating: 'int',
      percentile: 'float8',
      rank: 'int',
      countryRank: 'int',
      schoolRank: 'int',
      volatility: 'int',
      maximumRating: 'int',
      minimumRating: 'int',
      defaultLanguage: 'text',
      competitions: 'int',
      avgRank: 'float8',
      avgNumSubmissions: 'float8',
      bestRank: 'int',
      topFiveFinishes: 'int',
      topTenFinishes: 'int',
      mostRecentEventName: 'text',
      mostRecentEventDate: 'timestamptz',
      mostRecentSubmission: 'timestamptz',
    },
  },
  srm: {
    parent: 'memberDataScienceStats',
    item: 'memberSrmStats',
    fk: 'dataScienceStatsId',
    columns: {
      id: 'bigint',
      dataScienceStatsId: 'bigint',
      challenges: 'int',
      wins: 'int',
      rating: 'int',
      percentile: 'float8',
      rank: 'int',
      countryRank: 'int',
      schoolRank: 'int',
      volatility: 'int',
      maximumRating: 'int',
      minimumRating: 'int',
      defaultLanguage: 'text',
      competitions: 'int',
      mostRecentEventName: 'text',
      mostRecentEventDate: 'timestamptz',
      mostRecentSubmission: 'timestamptz',
    },
  },
} as const;

interface ParentRow {
  id: number;
  userId: number;
  challenges: number | null;
  wins: number | null;
  mostRecentSubmission: Date | null;
  mostRecentEventDate: Date | null;
}

/** Items and parents of the challenge's legacy sub-track (simulate.ts `accumulate`). */
async function writeStats(db: Kysely<any>, w: LegacyWrite, item: NonNullable<StatsItem>): Promise<{ items: number; parents: number }> {
  const f = FAMILY[item.table];
  const c = w.challenge;
  const ids = w.entries.map((e) => Number(e.userId));
  // the parent row a reader takes (store/legacy-stats.ts: duplicates → the most recent)
  const parents = await sql<ParentRow>`
    SELECT DISTINCT ON ("userId") id, "userId", challenges, wins, "mostRecentSubmission", "mostRecentEventDate"
    FROM ${sql.table(`members.${f.parent}`)} WHERE "userId" = ANY(${ids}::bigint[])
    ORDER BY "userId", "mostRecentEventDate" DESC NULLS LAST, challenges DESC NULLS LAST, id DESC`.execute(db);
  const parentBy = new Map(parents.rows.map((p) => [p.userId, p]));
  const named = 'name' in item;
  const items = await sql<Row & { id: number }>`
    SELECT DISTINCT ON (i.${sql.id(f.fk)}) i.* FROM ${sql.table(`members.${f.item}`)} i
    WHERE i.${sql.id(f.fk)} = ANY(${parents.rows.map((p) => p.id)}::bigint[]) ${named ? sql`AND i.name = ${item.name}` : sql``}
    ORDER BY i.${sql.id(f.fk)}, i."mostRecentEventDate" DESC NULLS LAST, i.id DESC`.execute(db);
  const itemBy = new Map(items.rows.map((i) => [Number(i[f.fk]), i]));
  const nextParent = await idAllocator(db, f.parent);
  const nextItem = await idAllocator(db, f.item);

  const parentRows: (Row & { isNew: boolean })[] = [];
  const itemRows: (Row & { isNew: boolean })[] = [];
  for (const e of w.entries) {
    const userId = Number(e.userId);
    const win = e.placement === 1 && e.passed && e.eligible ? 1 : 0;
    const h = w.rated.get(e.userId);
    const p = parentBy.get(userId);
    const parentId = p?.id ?? nextParent();
    parentRows.push({
      isNew: p === undefined,
      id: parentId,
      userId,
      challenges: (p?.challenges ?? 0) + 1,
      wins: (p?.wins ?? 0) + win,
      mostRecentSubmission: iso(Math.max(time(p?.mostRecentSubmission ?? null) ?? 0, e.submittedAt)),
      mostRecentEventDate: iso(Math.max(time(p?.mostRecentEventDate ?? null) ?? 0, c.endAt)),
    });
    const old = p ? itemBy.get(p.id) : undefined;
    const num = (k: string) => (old?.[k] as number | null | undefined) ?? null;
    const date = (k: string) => time((old?.[k] as Date | null | undefined) ?? null);
    const challenges = num('challenges') ?? 0;
    const row: Row & { isNew: boolean } = {
      ...(old ?? {}),
      isNew: old === undefined,
      id: old?.id ?? nextItem(),
      [f.fk]: parentId,
      challenges: challenges + 1,
      wins: (num('wins') ?? 0) + win,
      mostRecentSubmission: iso(Math.max(date('mostRecentSubmission') ?? 0, e.submittedAt)),
      mostRecentEventDate: iso(c.endAt),
    };
    for (const k of Object.keys(row)) if (row[k] instanceof Date) row[k] = (row[k] as Date).toISOString();
    if (item.table === 'develop') {
      row.name = item.name;
      row.subTrackId = DEVELOP_SUBTRACKS[item.name];
      if (h) {
        row.rating = h.newRating;
        row.volatility = h.newVolatility;
        row.maxRating = Math.max(num('maxRating') ?? h.newRating, h.newRating);
        row.minRating = Math.min(num('minRating') ?? h.newRating, h.newRating);
      }
    } else if (item.table === 'design') {
      row.name = item.name;
      row.subTrackId = DESIGN_SUBTRACKS[item.name];
      const passed = num('passedScreening') ?? 0;
      row.submissions = (num('submissions') ?? 0) + e.submissions;
      row.passedScreening = passed + (e.passed ? 1 : 0);
      // avgPlacement = placementSum / passed (legacy-stats.ts); the sum back from the stored average
      if (e.passed) row.avgPlacement = round2(((num('avgPlacement') ?? 0) * passed + e.placement) / (passed + 1));
    } else {
      if (old === undefined) row.defaultLanguage = w.rng.pick(LANGUAGES);
      row.mostRecentEventName = c.name;
      if (item.table === 'marathon') {
        row.avgNumSubmissions = round2(((num('avgNumSubmissions') ?? 0) * challenges + e.submissions) / (challenges + 1));
      }
      if (h) {
        const competitions = num('competitions') ?? 0;
        row.rating = h.newRating;
        row.volatility = h.newVolatility;
        row.maximumRating = Math.max(num('maximumRating') ?? h.newRating, h.newRating);
        row.minimumRating = Math.min(num('minimumRating') ?? h.newRating, h.newRating);
        row.competitions = competitions + 1;
        if (item.table === 'marathon') {
          row.avgRank = round2(((num('avgRank') ?? 0) * competitions + h.placement) / (competitions + 1));
          row.bestRank = Math.min(num('bestRank') ?? h.placement, h.placement);
          row.topFiveFinishes = (num('topFiveFinishes') ?? 0) + (h.placement <= 5 ? 1 : 0);
          row.topTenFinishes = (num('topTenFinishes') ?? 0) + (h.placement <= 10 ? 1 : 0);
        }
      } else if (old === undefined) {
        row.competitions = 0;
        if (item.table === 'marathon') {
          row.topFiveFinishes = 0;
          row.topTenFinishes = 0;
        }
      }
    }
    itemRows.push(row);
  }
  await writeRows(db, f.parent, PARENT_COLUMNS, parentRows);
  await writeRows(db, f.item, f.columns, itemRows);
  return { items: itemRows.length, parents: parentRows.length };
}

/** Legacy history rows of a rated event (simulate.ts `writeHistory`), under each member's memberHistoryStats row. */
async function writeHistory(db: Kysely<any>, w: LegacyWrite, stream: Stream): Promise<number> {
  const c = w.challenge;
  const rated = w.entries.map((e) => w.rated.get(e.userId)).filter((h): h is HistoryRow => h !== undefined);
  if (rated.length === 0) return 0;
  const ids = rated.map((h) => Number(h.userId));
  const existing = await sql<{ id: number; userId: number }>`
    SELECT DISTINCT ON ("userId") id, "userId" FROM members."memberHistoryStats" WHERE "userId" = ANY(${ids}::bigint[]) ORDER BY "userId", id`.execute(
    db,
  );
  const hsBy = new Map(existing.rows.map((r) => [r.userId, r.id]));
  const nextHs = await idAllocator(db, 'memberHistoryStats');
  const fresh: Row[] = [];
  for (const userId of ids) {
    if (hsBy.has(userId)) continue;
    const id = nextHs();
    hsBy.set(userId, id);
    fresh.push({ id, userId });
  }
  if (fresh.length > 0) {
    await sql`INSERT INTO members."memberHistoryStats" (id, "userId") SELECT x.id, x."userId" FROM ${recordset(fresh, { id: 'bigint', userId: 'bigint' })}`.execute(
      db,
    );
  }
  if (stream === 'DEV') {
    const sub = w.challenge.typeName === 'CODE' ? 'CODE' : 'DEVELOPMENT';
    const next = await idAllocator(db, 'memberDevelopHistoryStats');
    const rows = rated.map((h) => ({
      id: next(),
      historyStatsId: hsBy.get(Number(h.userId)),
      challengeId: c.legacyId,
      challengeName: c.name,
      ratingDate: iso(c.endAt),
      newRating: h.newRating,
      subTrack: sub,
      subTrackId: DEVELOP_SUBTRACKS[sub],
    }));
    const cols: Columns = {
      id: 'bigint',
      historyStatsId: 'bigint',
      challengeId: 'bigint',
      challengeName: 'text',
      ratingDate: 'timestamptz',
      newRating: 'int',
      subTrack: 'text',
      subTrackId: 'int',
    };
    await writeRows(
      db,
      'memberDevelopHistoryStats',
      cols,
      rows.map((r) => ({ ...r, isNew: true })),
    );
  } else {
    const sub = stream === 'MM' ? 'MARATHON_MATCH' : 'SRM';
    const next = await idAllocator(db, 'memberDataScienceHistoryStats');
    const rows = rated.map((h) => ({
      id: next(),
      historyStatsId: hsBy.get(Number(h.userId)),
      challengeId: c.legacyId,
      challengeName: c.name,
      date: iso(c.endAt),
      rating: h.newRating,
      placement: h.placement,
      percentile: h.percentile,
      subTrack: sub,
      subTrackId: DATA_SCIENCE_SUBTRACKS[sub],
    }));
    const cols: Columns = {
      id: 'bigint',
      historyStatsId: 'bigint',
      challengeId: 'bigint',
      challengeName: 'text',
      date: 'timestamptz',
      rating: 'int',
      placement: 'int',
      percentile: 'float8',
      subTrack: 'text',
      subTrackId: 'int',
    };
    await writeRows(
      db,
      'memberDataScienceHistoryStats',
      cols,
      rows.map((r) => ({ ...r, isNew: true })),
    );
  }
  return rated.length;
}

/** Everything the legacy pipeline writes for one ended challenge (in the caller's members transaction). */
export async function writeLegacy(db: Kysely<any>, w: LegacyWrite): Promise<LegacyWritten> {
  const history = w.stream && w.rated.size > 0 ? await writeHistory(db, w, w.stream) : 0;
  const stats = w.challenge.item ? await writeStats(db, w, w.challenge.item) : { items: 0, parents: 0 };
  return { ...stats, history };
}
