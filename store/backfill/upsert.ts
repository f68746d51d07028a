import { sql, type Kysely, type RawBuilder } from 'kysely';
import { changed, excluded, ids } from '../sql';
import { reratedRow } from './keep-rerated';
import { HISTORY_COLUMNS, HISTORY_UPDATED, STATS_COLUMNS, STATS_UPDATED, keyFilter, type BatchSql } from './staging';

/** Writes a batch's staged rows: upserts that rewrite only changed rows, stale-row removal on full runs, mostRecent. */

export interface Written {
  written: number;
  stale: number;
  perMember: Map<number, number>;
}

function perMember(rows: Array<{ userId: number }>): Map<number, number> {
  const m = new Map<number, number>();
  for (const row of rows) m.set(row.userId, (m.get(row.userId) ?? 0) + 1);
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
  /** insert order (so new rows' ids follow it: the mostRecent tie-break reads ids) */
  order?: readonly string[];
}

/** Upserts staged rows (only rows whose values change are rewritten); on full runs removes the batch's stale rows. */
async function upsertStaged(db: Kysely<any>, b: BatchSql, t: StagedTarget): Promise<Written> {
  const r = await sql<{ userId: number }>`
    INSERT INTO ${sql.table(t.table)} (${ids(t.columns)})
    SELECT ${ids(t.columns)} FROM ${sql.table(t.staged)} ${t.order ? sql`ORDER BY ${ids(t.order)}` : sql``}
    ON CONFLICT (${ids(t.key)}) DO UPDATE SET ${excluded(t.updated)}, "updatedAt" = now()
    WHERE ${changed(t.table, t.updated)}
    RETURNING "userId"`.execute(db);
  let stale = 0;
  if (b.fullRun) {
    const d = await sql`
      DELETE FROM ${sql.table(t.table)} x
      USING batch_members p
      WHERE x."userId" = p."userId" AND NOT (${t.keep ?? sql`false`})
        AND NOT EXISTS (SELECT 1 FROM ${sql.table(t.staged)} s WHERE ${sql.join(
          t.key.map((k) => sql`s.${sql.id(k)} = x.${sql.id(k)}`),
          sql` AND `,
        )})`.execute(db);
    stale = Number(d.numAffectedRows ?? 0);
  }
  return { written: r.rows.length, stale, perMember: perMember(r.rows) };
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
  const w = await upsertStaged(db, b, {
    table: 'members.memberStatsHistory',
    staged: 'batch_history',
    columns: HISTORY_COLUMNS,
    updated: HISTORY_UPDATED,
    key: ['userId', 'trackId', 'typeId', 'challengeId'],
    keep: sql`x."createdBy" = 'rerate' OR ${reratedRow('x')}`,
    order: ['userId', 'trackId', 'typeId', 'eventDate', 'challengeId'],
  });
  await resetMostRecent(db, b);
  return w;
}

/**
 * Exactly one mostRecent row per (user, track, type) of the batch: the latest eventDate, ties broken by id as the
 * real script does (rows are inserted in eventDate, challengeId order, so among one run's rows that is challengeId;
 * a row added by a later run wins a tie).
 */
export async function resetMostRecent(db: Kysely<any>, b: Pick<BatchSql, 'trackId' | 'typeId'>): Promise<void> {
  const scope = keyFilter(b, sql`h."trackId"`, sql`h."typeId"`);
  await sql`
    CREATE TEMP TABLE batch_latest ON COMMIT DROP AS
    SELECT DISTINCT ON (h."userId", h."trackId", h."typeId") h.id
    FROM batch_members q JOIN members."memberStatsHistory" h ON h."userId" = q."userId"
    WHERE ${scope}
    ORDER BY h."userId", h."trackId", h."typeId", h."eventDate" DESC, h.id DESC`.execute(db);
  // clear first, then set: the partial unique index is checked row by row
  await sql`
    UPDATE members."memberStatsHistory" h SET "mostRecent" = false
    FROM batch_members q
    WHERE h."userId" = q."userId" AND h."mostRecent" AND ${scope}
      AND NOT EXISTS (SELECT 1 FROM batch_latest l WHERE l.id = h.id)`.execute(db);
  await sql`
    UPDATE members."memberStatsHistory" h SET "mostRecent" = true
    FROM batch_latest l WHERE h.id = l.id AND NOT h."mostRecent"`.execute(db);
  await sql`DROP TABLE batch_latest`.execute(db);
}
