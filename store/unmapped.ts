import { sql, type Kysely, type RawBuilder } from 'kysely';
import { KNOWN_SUB_TRACKS, type UnmappedSubTrack } from '../domain/mapping';

/**
 * Legacy rows whose sub-track the mapping (domain/mapping.ts) does not know. The backfill cannot place them, so
 * they are never dropped silently: preflight fails naming them, the backfill reports them, parity counts them.
 */

export type { UnmappedSubTrack } from '../domain/mapping';

/** `members`: a query yielding "userId" to limit the look to (a batch, a parity scope); all members when omitted. */
export function unmappedRows(members?: RawBuilder<unknown>): RawBuilder<unknown> {
  const scope = (col: RawBuilder<unknown>) => (members ? sql`${col} IN (${members})` : sql`true`);
  const known = (table: keyof typeof KNOWN_SUB_TRACKS) => sql`${[...KNOWN_SUB_TRACKS[table]]}::text[]`;
  return sql`
    SELECT ds."userId", 'memberDevelopStatsItem' AS "table", i.name AS "subTrack"
    FROM members."memberDevelopStats" ds JOIN members."memberDevelopStatsItem" i ON i."developStatsId" = ds.id
    WHERE i.name <> ALL(${known('memberDevelopStatsItem')}) AND ${scope(sql`ds."userId"`)}
    UNION ALL
    SELECT ds."userId", 'memberDesignStatsItem', i.name
    FROM members."memberDesignStats" ds JOIN members."memberDesignStatsItem" i ON i."designStatsId" = ds.id
    WHERE i.name <> ALL(${known('memberDesignStatsItem')}) AND ${scope(sql`ds."userId"`)}
    UNION ALL
    SELECT h."userId", 'memberDevelopHistoryStats', d."subTrack"
    FROM members."memberHistoryStats" h JOIN members."memberDevelopHistoryStats" d ON d."historyStatsId" = h.id
    WHERE d."subTrack" <> ALL(${known('memberDevelopHistoryStats')}) AND ${scope(sql`h."userId"`)}
    UNION ALL
    SELECT h."userId", 'memberDataScienceHistoryStats', d."subTrack"
    FROM members."memberHistoryStats" h JOIN members."memberDataScienceHistoryStats" d ON d."historyStatsId" = h.id
    WHERE d."subTrack" <> ALL(${known('memberDataScienceHistoryStats')}) AND ${scope(sql`h."userId"`)}`;
}

/** Unmapped sub-tracks with their row and member counts. */
export async function unmappedSubTracks(db: Kysely<any>, members?: RawBuilder<unknown>): Promise<UnmappedSubTrack[]> {
  const r = await sql<UnmappedSubTrack>`
    SELECT "table", "subTrack", count(*)::int AS rows, count(DISTINCT "userId")::int AS members
    FROM (${unmappedRows(members)}) u GROUP BY 1, 2 ORDER BY 1, 2`.execute(db);
  return r.rows;
}

/** Unmapped sub-tracks of these members. */
export function unmappedOfMembers(db: Kysely<any>, userIds: number[]): Promise<UnmappedSubTrack[]> {
  return unmappedSubTracks(db, sql`SELECT unnest(${userIds}::bigint[]) AS "userId"`);
}

/** Unmapped sub-tracks of every member, or of those up to `lastUserId` (a --limit run). */
export function unmappedUpTo(db: Kysely<any>, lastUserId?: number): Promise<UnmappedSubTrack[]> {
  return unmappedSubTracks(
    db,
    lastUserId === undefined ? undefined : sql`SELECT "userId" FROM members."member" WHERE "userId" <= ${lastUserId}`,
  );
}
