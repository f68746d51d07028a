import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Catalog } from '../../domain/catalog';
import { CANONICAL_SIGNATURE, REPORT_ROWS, type DuplicateSummary, type RoundEntry } from '../../domain/dedupe';
import { MARATHON_KEY } from '../../domain/mapping';
import { keyIds } from '../catalog';

/** Which duplicates: every member, or these; at most `limit` rows in (member, round, row id) order. */
export interface DedupeScope {
  userIds?: readonly number[];
  limit?: number;
}

/**
 * The duplicate rows, one statement: the Marathon Match history rows that have a round (`rounds`), each member's
 * canonical row per round (the latest UUID row with a rating, placement > 0, signed by the rerate; ties by id), and
 * the numeric rows of a round that has one. Columns: id, "userId", round, "challengeId", "challengeName", "eventDate",
 * "newRating", "mostRecent", "canonicalId", "canonicalChallengeId".
 */
export function duplicates(catalog: Catalog, rounds: readonly RoundEntry[], scope: DedupeScope): RawBuilder<unknown> {
  const [trackId, typeId] = keyIds(catalog, MARATHON_KEY);
  const members = scope.userIds ? sql`AND h."userId" = ANY(${[...scope.userIds]}::bigint[])` : sql``;
  const limit = scope.limit !== undefined ? sql`LIMIT ${scope.limit}` : sql``;
  return sql`
    WITH r AS (
      SELECT * FROM unnest(${rounds.map((x) => x.challengeId)}::text[], ${rounds.map((x) => x.challengeName)}::text[],
                           ${rounds.map((x) => x.round)}::bigint[], ${rounds.map((x) => x.kind === 'numeric')}::boolean[])
        AS r("challengeId", "challengeName", round, "numeric")
    ),
    h AS (
      SELECT h.id, h."userId", h."challengeId", h."challengeName", h."eventDate", h."newRating", h."mostRecent", r.round, r."numeric",
             COALESCE(NOT r."numeric" AND h."newRating" IS NOT NULL AND h.placement > 0
                      AND ${CANONICAL_SIGNATURE}::text IN (h."createdBy", h."updatedBy"), false) AS "canonical"
      FROM members."memberStatsHistory" h
      JOIN r ON r."challengeId" = h."challengeId" AND r."challengeName" IS NOT DISTINCT FROM h."challengeName"
      WHERE h."trackId" = ${trackId}::uuid AND h."typeId" = ${typeId}::uuid ${members}
    ),
    -- each (member, round) ordered canonical candidates first, latest first: its first row is the canonical one when
    -- it has any. One sort, no join: joining the rows to their canonical rows was planned as a nested loop (the
    -- name match makes the planner expect one row) and ran minutes on a large platform.
    ranked AS (
      SELECT h.*, first_value("canonical") OVER w AS "hasCanonical", first_value(id) OVER w AS "canonicalId",
             first_value("challengeId") OVER w AS "canonicalChallengeId"
      FROM h
      WINDOW w AS (PARTITION BY "userId", round ORDER BY "canonical" DESC, "eventDate" DESC, id DESC)
    )
    SELECT id, "userId", round, "challengeId", "challengeName", "eventDate", "newRating", "mostRecent", "canonicalId", "canonicalChallengeId"
    FROM ranked
    WHERE "numeric" AND "hasCanonical"
    ORDER BY "userId", round, id
    ${limit}`;
}

/**
 * Counts and the first REPORT_ROWS rows of a relation shaped like `duplicates` (a tombstone's rows are), each with
 * the canonical row it defers to, in one round trip.
 */
export async function summarize(db: Kysely<any>, rows: RawBuilder<unknown>): Promise<DuplicateSummary> {
  const r = await sql<DuplicateSummary>`
    WITH d AS MATERIALIZED (${rows})
    SELECT (SELECT count(*)::int FROM d) AS rows,
           (SELECT count(DISTINCT "userId")::int FROM d) AS members,
           (SELECT count(*)::int FROM (SELECT DISTINCT "userId", round FROM d) x) AS rounds,
           (SELECT COALESCE(json_agg(e ORDER BY e."userId", e.round, e.id), '[]') FROM (
              SELECT d.id, d."userId", d.round, d."challengeId", d."challengeName", d."eventDate", d."newRating", d."mostRecent",
                     json_build_object('id', d."canonicalId", 'challengeId', d."canonicalChallengeId", 'challengeName', c."challengeName",
                                       'eventDate', c."eventDate", 'newRating', c."newRating") AS canonical
              FROM d LEFT JOIN members."memberStatsHistory" c ON c.id = d."canonicalId"
              ORDER BY d."userId", d.round, d.id
              LIMIT ${REPORT_ROWS}) e) AS examples`.execute(db);
  return r.rows[0]!;
}
