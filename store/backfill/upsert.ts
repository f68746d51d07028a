import { sql, type Kysely, type RawBuilder } from 'kysely';
import { batchRows, byIds, changed, excluded, ids } from '../sql';
import { reratedRow } from './keep-rerated';
import { HISTORY_COLUMNS, HISTORY_UPDATED, STATS_COLUMNS, STATS_UPDATED, keyFilter, type BatchSql } from './staging';

/** Writes a batch's staged rows: upserts that rewrite only changed rows, stale-row removal on full runs, mostRecent. */

export interface Written {
  written: number;
  stale: number;
  perMember: Map<number, number>;
}

/** Rows written per member, counted where they are written: a batch returns thousands of counts, not its rows. */
const countedPerMember = (write: RawBuilder<unknown>) =>
  sql<{ userId: number; n: number }>`WITH w AS (${write} RETURNING "userId") SELECT "userId", count(*)::int AS n FROM w GROUP BY 1`;

function perMember(rows: Array<{ userId: number; n: number }>): Map<number, number> {
  const m = new Map<number, number>();
  for (const row of rows) m.set(row.userId, (m.get(row.userId) ?? 0) + row.n);
  return m;
}

interface StagedTarget {
  table: string;
  staged: string;
  columns: readonly string[];
  updated: readonly string[];
  /** the unique key: conflict target, and what makes a row stale when the staged rows lack it */
  key: readonly string[];
  /** rows a full run keeps even when the staged rows lack them */
  keep?: RawBuilder<unknown>;
  /** members whose stored rows may be stale (a temp table of "userId"; default: the batch's) */
  staleAmong?: string;
  /** insert order (so new rows' ids follow it: the mostRecent tie-break reads ids) */
  order?: readonly string[];
  /**
   * Groups of the key (a temp table of key prefixes, e.g. member × track × type) the table holds no row of: their
   * staged rows are written by a plain INSERT (about half the cost of one that checks for conflicts row by row),
   * with `insertOnly` set from the staged rows (alias s); the other rows go through the upsert.
   */
  newGroups?: {
    table: string;
    columns: readonly string[];
    insertOnly?: { column: string; value: RawBuilder<unknown>; window: RawBuilder<unknown> };
  };
}

/** Upserts staged rows (only rows whose values change are rewritten); on full runs removes the batch's stale rows. */
async function upsertStaged(db: Kysely<any>, b: BatchSql, t: StagedTarget): Promise<Written> {
  const cols = sql.join(t.columns.map((c) => sql`s.${sql.id(c)}`));
  const order = t.order ? sql`ORDER BY ${sql.join(t.order.map((c) => sql`s.${sql.id(c)}`))}` : sql``;
  const g = t.newGroups;
  const inNewGroup = g
    ? sql`EXISTS (SELECT 1 FROM ${sql.table(g.table)} n WHERE ${sql.join(
        g.columns.map((c) => sql`n.${sql.id(c)} = s.${sql.id(c)}`),
        sql` AND `,
      )})`
    : sql`false`;
  let fresh: Array<{ userId: number; n: number }> = [];
  if (g) {
    const extra = g.insertOnly;
    const f = await countedPerMember(sql`
      INSERT INTO ${sql.table(t.table)} (${ids(t.columns)}${extra ? sql`, ${sql.id(extra.column)}` : sql``})
      SELECT ${cols}${extra ? sql`, ${extra.value}` : sql``}
      FROM (SELECT *${extra ? sql`, ${extra.window}` : sql``} FROM ${sql.table(t.staged)}) s
      WHERE ${inNewGroup} ${order}`).execute(db);
    fresh = f.rows;
  }
  const r = await countedPerMember(sql`
    INSERT INTO ${sql.table(t.table)} (${ids(t.columns)})
    SELECT ${cols} FROM ${sql.table(t.staged)} s WHERE NOT ${inNewGroup} ${order}
    ON CONFLICT (${ids(t.key)}) DO UPDATE SET ${excluded(t.updated)}, "updatedAt" = now()
    WHERE ${changed(t.table, t.updated)}`).execute(db);
  const written = [...fresh, ...r.rows];
  let stale = 0;
  if (b.fullRun) {
    const d = await sql`
      DELETE FROM ${sql.table(t.table)} x
      WHERE ${byIds(sql`
        SELECT x.id FROM ${batchRows(t.table, t.staleAmong)} x
        WHERE NOT (${t.keep ?? sql`false`})
          AND NOT EXISTS (SELECT 1 FROM ${sql.table(t.staged)} s WHERE ${sql.join(
            t.key.map((k) => sql`s.${sql.id(k)} = x.${sql.id(k)}`),
            sql` AND `,
          )})`)}`.execute(db);
    stale = Number(d.numAffectedRows ?? 0);
  }
  return { written: written.reduce((a, x) => a + x.n, 0), stale, perMember: perMember(written) };
}

export function upsertStats(db: Kysely<any>, b: BatchSql): Promise<Written> {
  return upsertStaged(db, b, {
    table: 'members.memberStats',
    staged: 'batch_stats',
    columns: STATS_COLUMNS,
    updated: STATS_UPDATED,
    key: ['userId', 'trackId', 'typeId'],
    // private rows are not the backfill's to judge (member-api-v6 keeps them apart): never removed as stale
    keep: sql`x."isPrivate"`,
  });
}

/**
 * Upserts staged history (a full run never removes the rows a rerate wrote — the backfill's continuation or phase D),
 * then resets mostRecent: clear first, then set the latest row per (user, track, type) — the partial unique index
 * admits no other order.
 */
export async function upsertHistory(db: Kysely<any>, b: BatchSql): Promise<Written> {
  // the members with history stored before this batch: only their rows can be stale or need mostRecent moved (a
  // member new to the table gets exactly the staged rows, mostRecent set as they are inserted); on a first backfill
  // there are none, and the batch does not read back the rows it just wrote
  await sql`
    CREATE TEMP TABLE batch_prior_members ON COMMIT DROP AS
    SELECT p."userId" FROM batch_members p
    WHERE (SELECT x.id FROM members."memberStatsHistory" x WHERE x."userId" = p."userId" LIMIT 1) IS NOT NULL`.execute(db);
  // the staged keys the table holds no row of yet; probed key by key through the unique index (a scalar subquery
  // with LIMIT stays a per-key probe: as NOT EXISTS it was planned as a hash of the whole table, every batch)
  await sql`
    CREATE TEMP TABLE batch_new_keys ON COMMIT DROP AS
    SELECT k."userId", k."trackId", k."typeId" FROM (SELECT DISTINCT "userId", "trackId", "typeId" FROM batch_history) k
    WHERE (SELECT x.id FROM members."memberStatsHistory" x
           WHERE x."userId" = k."userId" AND x."trackId" = k."trackId" AND x."typeId" = k."typeId" LIMIT 1) IS NULL`.execute(db);
  const w = await upsertStaged(db, b, {
    table: 'members.memberStatsHistory',
    staged: 'batch_history',
    columns: HISTORY_COLUMNS,
    updated: HISTORY_UPDATED,
    key: ['userId', 'trackId', 'typeId', 'challengeId'],
    keep: sql`x."createdBy" = 'rerate' OR ${reratedRow('x')}`,
    staleAmong: 'batch_prior_members',
    order: ['userId', 'trackId', 'typeId', 'eventDate', 'challengeId'],
    // a member's track/type new to the table gets its mostRecent row as it is inserted (the latest; among equal
    // dates the highest challengeId, inserted last, so the highest id): resetMostRecent then finds it right and
    // rewrites nothing, where setting it afterwards wrote a second version of a row per member and key
    newGroups: {
      table: 'batch_new_keys',
      columns: ['userId', 'trackId', 'typeId'],
      insertOnly: {
        column: 'mostRecent',
        // the last in insert order: the same sort serves the window and the insert
        window: sql`(lead(true) OVER (PARTITION BY "userId", "trackId", "typeId" ORDER BY "eventDate", "challengeId")) IS NULL AS latest`,
        value: sql`s.latest`,
      },
    },
  });
  await resetMostRecent(db, b, 'batch_prior_members');
  return w;
}

/**
 * Exactly one mostRecent row per (user, track, type) of the batch: the latest eventDate, ties broken by id as the
 * real script does (rows are inserted in eventDate, challengeId order, so among one run's rows that is challengeId;
 * a row added by a later run wins a tie).
 */
export async function resetMostRecent(db: Kysely<any>, b: Pick<BatchSql, 'trackId' | 'typeId'>, members = 'batch_members'): Promise<void> {
  const scope = keyFilter(b, sql`h."trackId"`, sql`h."typeId"`);
  await sql`
    CREATE TEMP TABLE batch_latest ON COMMIT DROP AS
    SELECT DISTINCT ON (h."userId", h."trackId", h."typeId") h.id, h."mostRecent"
    FROM ${batchRows('members.memberStatsHistory', members)} h
    WHERE ${scope}
    ORDER BY h."userId", h."trackId", h."typeId", h."eventDate" DESC, h.id DESC`.execute(db);
  // clear first, then set: the partial unique index is checked row by row
  await sql`
    UPDATE members."memberStatsHistory" x SET "mostRecent" = false
    WHERE ${byIds(sql`
      SELECT h.id FROM ${batchRows('members.memberStatsHistory', members)} h
      WHERE h."mostRecent" AND ${scope} AND NOT EXISTS (SELECT 1 FROM batch_latest l WHERE l.id = h.id)`)}`.execute(db);
  await sql`
    UPDATE members."memberStatsHistory" x SET "mostRecent" = true
    WHERE ${byIds(sql`SELECT id FROM batch_latest WHERE NOT "mostRecent"`)}`.execute(db);
  await sql`DROP TABLE batch_latest`.execute(db);
}
