import { sql, type RawBuilder } from 'kysely';
import type { ParityScope } from '../../domain/parity';
import type { Catalog } from '../../domain/catalog';
import { developMap, dsHistoryMap } from '../catalog';
import { legacyStatsRelation } from '../legacy-stats';
import { changedSince } from './changes';

/**
 * The legacy side of parity as relations over the members in scope, keyed the way the backfill keys unified rows
 * (domain/mapping.ts). Only members present in `member` are in scope: the backfill skips the others.
 */

/** SELECT "userId" of the members in scope; with `unchangedSince`, less those changed since that snapshot. */
export function scopeMembers(scope: ParityScope, unchangedSince?: string): RawBuilder<unknown> {
  const unchanged = unchangedSince === undefined ? sql`` : sql` AND "userId" NOT IN (${changedSince(unchangedSince)})`;
  return 'all' in scope
    ? sql`SELECT "userId" FROM members."member" WHERE true${unchanged}`
    : sql`SELECT "userId" FROM members."member" WHERE "userId" = ANY(${scope.userIds}::bigint[])${unchanged}`;
}

export const trackId = (catalog: Catalog, track: string): string => {
  const t = catalog.tracks.find((x) => x.track === track);
  if (!t) throw new Error(`the challenges catalogue lacks track ${track}`);
  return t.id;
};

/** One legacy stats row per (member, unified key), with its legacy family: store/legacy-stats.ts. */
export function legacyStats(c: Catalog, scope: ParityScope, unchangedSince?: string): RawBuilder<unknown> {
  return legacyStatsRelation(c, scopeMembers(scope, unchangedSince));
}

/** Distinct legacy history challenges per (member, unified key): challengeId as the text the backfill stores. */
export function legacyHistory(c: Catalog, scope: ParityScope): RawBuilder<unknown> {
  return sql`
    SELECT p."userId", m.track_id, m.type_id, d."challengeId"::text AS "challengeId"
    FROM (${scopeMembers(scope)}) p
    JOIN members."memberHistoryStats" h ON h."userId" = p."userId"
    JOIN members."memberDevelopHistoryStats" d ON d."historyStatsId" = h.id
    JOIN ${developMap(c)} AS m(name, track_id, type_id) ON m.name = d."subTrack"
    UNION
    SELECT p."userId", m.track_id, m.type_id, d."challengeId"::text
    FROM (${scopeMembers(scope)}) p
    JOIN members."memberHistoryStats" h ON h."userId" = p."userId"
    JOIN members."memberDataScienceHistoryStats" d ON d."historyStatsId" = h.id
    JOIN ${dsHistoryMap(c)} AS m(name, track_id, type_id) ON m.name = d."subTrack"`;
}
