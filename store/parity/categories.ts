import { sql, type Kysely, type RawBuilder } from 'kysely';
import {
  MAX_DEFERRED_IDS,
  merge,
  type CategoryResult,
  type Deferred,
  type Findings,
  type ParityExample,
  type ParityScope,
} from '../../domain/parity';
import { readOnly } from '../sql';
import { explicitlyUnratedSql } from '../metadata';
import { unmappedRows } from '../unmapped';
import type { Catalog } from '../../domain/catalog';
import { dedupedHistory } from '../dedupe/runs';
import { reratedRow } from '../backfill/keep-rerated';
import { legacyHistory, legacyStats, scopeMembers, trackId } from './legacy';
import { changedSince } from './changes';

/**
 * Each parity category as one set-based statement producing findings — rows of ("userId", track, type, field,
 * legacy, unified), values as jsonb — over the members in scope. `countFindings` turns one into a count and the
 * first N examples in one round trip. Track/type come out as catalogue ids (or a legacy family name) and are
 * named in TS.
 */

/**
 * `snapshot` (the run's): only the aggregate category (non-null-rows, whose findings name no member) uses it, to
 * leave out the members changed since; the others' findings are deferred per member by countFindings.
 */
export type FindingsQuery = (catalog: Catalog, scope: ParityScope, snapshot?: string) => RawBuilder<unknown>;

const unifiedOf = (alias: string, legacyAlias: string) =>
  sql`${sql.id(alias)}."userId" = ${sql.id(legacyAlias)}."userId" AND ${sql.id(alias)}."trackId" = ${sql.id(legacyAlias)}.track_id AND ${sql.id(alias)}."typeId" = ${sql.id(legacyAlias)}.type_id`;

/**
 * track-summary, per member and legacy family (DEVELOP, DESIGN, DATA_SCIENCE), over the unified keys legacy has a
 * row for (unified legitimately has more keys, supplemented from results — e.g. DEVELOPMENT/Task): summed
 * challenges and wins, latest mostRecentSubmission and mostRecentEventDate must be equal. The one allowed
 * difference: a key whose unified mostRecentEventDate is later than legacy's carries events legacy never saw (the
 * backfill adds results after legacy's last event), so there unified counts may be higher, never lower. Legacy rows
 * whose sub-track the mapping does not know are findings too: they cannot be in unified.
 */
export const trackSummary: FindingsQuery = (c, scope) => sql`
  WITH fam AS (
    SELECT l."userId", l.family,
           sum(l.challenges)::int AS lc, COALESCE(sum(u.challenges), 0)::int AS uc,
           sum(l.wins)::int AS lw, COALESCE(sum(u.wins), 0)::int AS uw,
           max(l."mostRecentEventDate") AS le, max(u."mostRecentEventDate") AS ue,
           max(l."mostRecentSubmission") AS ls, max(u."mostRecentSubmission") AS us,
           COALESCE(bool_or(u."mostRecentEventDate" > l."mostRecentEventDate"), false) AS grew
    FROM (${legacyStats(c, scope)}) l
    LEFT JOIN members."memberStats" u ON ${unifiedOf('u', 'l')}
    GROUP BY l."userId", l.family
  )
  SELECT fam."userId", fam.family AS track, NULL::text AS type, f.field, f.legacy, f.unified
  FROM fam CROSS JOIN LATERAL (VALUES
    ('challenges', to_jsonb(lc), to_jsonb(uc), CASE WHEN grew THEN uc < lc ELSE uc IS DISTINCT FROM lc END),
    ('wins', to_jsonb(lw), to_jsonb(uw), CASE WHEN grew THEN uw < lw ELSE uw IS DISTINCT FROM lw END),
    ('mostRecentEventDate', to_jsonb(le), to_jsonb(ue), CASE WHEN grew THEN ue < le ELSE ue IS DISTINCT FROM le END),
    ('mostRecentSubmission', to_jsonb(ls), to_jsonb(us), us IS DISTINCT FROM ls)
  ) AS f(field, legacy, unified, differs)
  WHERE f.differs
  UNION ALL
  -- legacy rows the mapping cannot place (their counts are missing from unified): one finding per row
  SELECT u."userId", CASE WHEN u."table" = 'memberDesignStatsItem' THEN 'DESIGN' WHEN u."table" = 'memberDataScienceHistoryStats'
           THEN 'DATA_SCIENCE' ELSE 'DEVELOP' END, u."subTrack", 'unmapped sub-track', to_jsonb(u."table"), 'null'::jsonb
  FROM (${unmappedRows(scopeMembers(scope))}) u`;

/** SRM and MM fields compared (unified name, legacy value column of legacyStats — already renamed). */
const DATA_SCIENCE_FIELDS = [
  'rating',
  'globalRank',
  'countryRank',
  'schoolRank',
  'volatility',
  'maxRating',
  'minRating',
  // MM only (NULL on SRM rows, so never compared there)
  'avgRank',
  'avgNumSubmissions',
  'bestRank',
  'topFiveFinishes',
  'topTenFinishes',
] as const;

/**
 * rating-mismatch. DEVELOP: on every DEVELOPMENT key legacy rated, the unified rating equals legacy's — unless
 * unified carries events after legacy's last one there (the backfill rated those from the legacy state; the rating
 * moved on legitimately). SRM and Marathon Match: every rating/rank field legacy has a value for must be equal in
 * unified (rank → globalRank, maximumRating → maxRating, minimumRating → minRating; MM also avgRank,
 * avgNumSubmissions, bestRank, topFiveFinishes, topTenFinishes): those are preserved as legacy has them. A legacy
 * null is not compared: unified may fill it from later rated results. Computed values are not held to legacy's: the
 * ratings of a key a rerate rewrote (phase D, or a live rating: its history rows are rerate-signed) or that carries
 * later events, and the ranks of a partition we re-ranked (platform."rerankedPartition").
 */
export const ratingMismatch: FindingsQuery = (c, scope) => {
  const dev = trackId(c, 'DEVELOPMENT');
  const ds = trackId(c, 'DATA_SCIENCE');
  // preserved versus computed: keys a rerate (phase D, or a live rating) rewrote carry our ratings, and partitions we
  // re-ranked carry our ranks — decisions, not drift, so they are not held to legacy's numbers
  return sql`
    WITH l AS MATERIALIZED (${legacyStats(c, scope)}),
    rerated AS MATERIALIZED (
      SELECT DISTINCT x."userId", x."trackId", x."typeId" FROM members."memberStatsHistory" x
      WHERE x."userId" IN (SELECT "userId" FROM l) AND ${reratedRow('x')})
    SELECT l."userId", l.track_id::text AS track, l.type_id::text AS type, 'rating' AS field, to_jsonb(l.rating) AS legacy, to_jsonb(u.rating) AS unified
    FROM l LEFT JOIN members."memberStats" u ON ${unifiedOf('u', 'l')}
    WHERE l.track_id = ${dev}::uuid AND l.rating IS NOT NULL AND u.rating IS DISTINCT FROM l.rating
      AND NOT COALESCE(u."mostRecentEventDate" > l."mostRecentEventDate", false)
      AND NOT EXISTS (SELECT 1 FROM rerated r WHERE r."userId" = l."userId" AND r."trackId" = l.track_id AND r."typeId" = l.type_id)
    UNION ALL
    SELECT l."userId", l.track_id::text, l.type_id::text, f.field, f.legacy, f.unified
    FROM l LEFT JOIN members."memberStats" u ON ${unifiedOf('u', 'l')}
    CROSS JOIN LATERAL (VALUES ${sql.join(DATA_SCIENCE_FIELDS.map((name) => sql`(${name}, to_jsonb(l.${sql.id(name)}), to_jsonb(u.${sql.id(name)}))`))})
      AS f(field, legacy, unified)
    WHERE l.track_id = ${ds}::uuid AND f.legacy IS NOT NULL AND f.unified IS DISTINCT FROM f.legacy
      AND NOT (f.field IN ('rating', 'volatility', 'maxRating', 'minRating')
               AND (COALESCE(u."mostRecentEventDate" > l."mostRecentEventDate", false)
                    OR EXISTS (SELECT 1 FROM rerated r WHERE r."userId" = l."userId" AND r."trackId" = l.track_id AND r."typeId" = l.type_id)))
      AND NOT (f.field IN ('globalRank', 'countryRank')
               AND EXISTS (SELECT 1 FROM platform."rerankedPartition" p WHERE p."trackId" = l.track_id AND p."typeId" = l.type_id))`;
};

/** History keys as history-count sees them: the unified rows, and the duplicates dedupe runs removed (see below). */
const countedHistory = () => sql`(
  SELECT "userId", "trackId", "typeId", "challengeId" FROM members."memberStatsHistory"
  UNION ALL ${dedupedHistory()})`;

/**
 * history-count, per member and unified key (finer than per track): unified history rows ≥ legacy distinct
 * challenges, and every legacy challenge is among them (a count alone would let an extra supplemented row hide a
 * lost legacy one). One finding per key: 'rows' when the count is short, else 'challengeId' naming the first
 * legacy challenge missing. A legacy Marathon Match row that a dedupe (D5) removed in favour of the round's
 * canonical row is present, and counted, as long as that run stands (store/dedupe/runs.ts).
 */
export const historyCount: FindingsQuery = (c, scope) => sql`
  WITH legacy AS (
    SELECT l."userId", l.track_id, l.type_id, count(*)::int AS n, min(l."challengeId") FILTER (WHERE h."userId" IS NULL) AS missing
    FROM (${legacyHistory(c, scope)}) l
    LEFT JOIN ${countedHistory()} h
      ON h."userId" = l."userId" AND h."trackId" = l.track_id AND h."typeId" = l.type_id AND h."challengeId" = l."challengeId"
    GROUP BY 1, 2, 3
  ),
  uc AS (
    SELECT h."userId", h."trackId", h."typeId", count(*)::int AS n
    FROM ${countedHistory()} h JOIN (${scopeMembers(scope)}) p ON p."userId" = h."userId"
    GROUP BY 1, 2, 3
  )
  SELECT l."userId", l.track_id::text AS track, l.type_id::text AS type,
         CASE WHEN COALESCE(uc.n, 0) < l.n THEN 'rows' ELSE 'challengeId' END AS field,
         CASE WHEN COALESCE(uc.n, 0) < l.n THEN to_jsonb(l.n) ELSE to_jsonb(l.missing) END AS legacy,
         CASE WHEN COALESCE(uc.n, 0) < l.n THEN to_jsonb(COALESCE(uc.n, 0)) ELSE 'null'::jsonb END AS unified
  FROM legacy l
  LEFT JOIN uc ON uc."userId" = l."userId" AND uc."trackId" = l.track_id AND uc."typeId" = l.type_id
  WHERE COALESCE(uc.n, 0) < l.n OR l.missing IS NOT NULL`;

/**
 * history-order: in each (member, track, type) history group with exactly one mostRecent row, that row carries the
 * group's latest eventDate. Groups with no or several mostRecent rows are most-recent-violations (counted there,
 * not twice). The null-newRating half needs the challenges catalogue: see nullRatingRows.
 */
export const historyOrder: FindingsQuery = (_c, scope) => sql`
  WITH g AS (
    SELECT h."userId", h."trackId", h."typeId", max(h."eventDate") AS latest,
           count(*) FILTER (WHERE h."mostRecent") AS flagged, max(h."eventDate") FILTER (WHERE h."mostRecent") AS flagged_date
    FROM members."memberStatsHistory" h JOIN (${scopeMembers(scope)}) p ON p."userId" = h."userId"
    GROUP BY 1, 2, 3
  )
  SELECT "userId", "trackId"::text AS track, "typeId"::text AS type, 'mostRecent.eventDate' AS field,
         to_jsonb(latest) AS legacy, to_jsonb(flagged_date) AS unified
  FROM g WHERE flagged = 1 AND flagged_date < latest`;

/**
 * most-recent-violations, over the WHOLE history table whatever the mode: (member, track, type) groups without
 * exactly one mostRecent row. The partial unique index forbids several, so in practice: groups with none.
 */
export const mostRecentViolations: FindingsQuery = () => sql`
  SELECT "userId", "trackId"::text AS track, "typeId"::text AS type, 'mostRecent' AS field,
         to_jsonb(1) AS legacy, to_jsonb(count(*) FILTER (WHERE "mostRecent")) AS unified
  FROM members."memberStatsHistory"
  GROUP BY "userId", "trackId", "typeId"
  HAVING count(*) FILTER (WHERE "mostRecent") <> 1`;

/** rank-completeness: a unified row with a rating but no globalRank (ranks are derived from every rating). */
export const rankCompleteness: FindingsQuery = (_c, scope) => sql`
  SELECT u."userId", u."trackId"::text AS track, u."typeId"::text AS type, 'globalRank' AS field,
         'null'::jsonb AS legacy, jsonb_build_object('rating', u.rating, 'globalRank', u."globalRank") AS unified
  FROM members."memberStats" u JOIN (${scopeMembers(scope)}) p ON p."userId" = u."userId"
  WHERE u.rating IS NOT NULL AND u."globalRank" IS NULL`;

/**
 * non-null-rows, per unified key over the members in scope: rows with a non-null rating / globalRank /
 * countryRank, unified ≥ legacy. Aggregate counts, so findings carry no member and cannot be deferred: with the
 * run's snapshot the members changed since are left out of both sides (the inequality still adds up over disjoint
 * sets of members, and a re-check compares them).
 */
export const nonNullRows: FindingsQuery = (c, scope, snapshot) => sql`
  WITH lc AS (
    SELECT track_id, type_id, count(rating)::int AS rating, count("globalRank")::int AS "globalRank", count("countryRank")::int AS "countryRank"
    FROM (${legacyStats(c, scope, snapshot)}) l GROUP BY 1, 2
  ),
  uc AS (
    SELECT u."trackId", u."typeId", count(u.rating)::int AS rating, count(u."globalRank")::int AS "globalRank", count(u."countryRank")::int AS "countryRank"
    FROM members."memberStats" u JOIN (${scopeMembers(scope, snapshot)}) p ON p."userId" = u."userId"
    GROUP BY 1, 2
  )
  SELECT NULL::bigint AS "userId", lc.track_id::text AS track, lc.type_id::text AS type, f.field || ' rows' AS field,
         to_jsonb(f.legacy) AS legacy, to_jsonb(f.unified) AS unified
  FROM lc LEFT JOIN uc ON uc."trackId" = lc.track_id AND uc."typeId" = lc.type_id
  CROSS JOIN LATERAL (VALUES
    ('rating', lc.rating, COALESCE(uc.rating, 0)),
    ('globalRank', lc."globalRank", COALESCE(uc."globalRank", 0)),
    ('countryRank', lc."countryRank", COALESCE(uc."countryRank", 0))
  ) AS f(field, legacy, unified)
  WHERE f.unified < f.legacy`;

/** History rows with a null newRating in scope, by challenge id (the catalogue decides error or warning). */
export function nullRatingRows(scope: ParityScope, unratedChallengeIds: string[] | null): RawBuilder<unknown> {
  const unrated = unratedChallengeIds === null ? sql`false` : sql`h."challengeId" = ANY(${unratedChallengeIds}::text[])`;
  return sql`
    SELECT h."userId", h."trackId"::text AS track, h."typeId"::text AS type, 'newRating' AS field,
           to_jsonb(h."challengeId") AS legacy, 'null'::jsonb AS unified, ${unrated} AS unrated
    FROM members."memberStatsHistory" h JOIN (${scopeMembers(scope)}) p ON p."userId" = h."userId"
    WHERE h."newRating" IS NULL`;
}

/** Distinct challenge ids of the null-newRating rows in scope (bounded by the number of challenges). */
export async function nullRatingChallengeIds(db: Kysely<any>, scope: ParityScope): Promise<string[]> {
  const r = await sql<{ challengeId: string }>`
    SELECT DISTINCT h."challengeId" FROM members."memberStatsHistory" h JOIN (${scopeMembers(scope)}) p ON p."userId" = h."userId"
    WHERE h."newRating" IS NULL`.execute(db);
  return r.rows.map((x) => x.challengeId);
}

/**
 * Of these history challenge ids (UUIDs or legacy numeric ids), the ones whose ChallengeMetadata explicitly says
 * unrated — the rule of isChallengeRated (domain/rating/participants.ts): rated/isRated/is_rated false|0, or
 * unrated true|1, names in any case. Missing metadata is not "explicitly unrated".
 */
export async function explicitlyUnrated(challenges: Kysely<any>, ids: string[]): Promise<string[]> {
  const uuids = ids.filter((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id));
  const legacy = ids.filter((id) => /^\d{1,18}$/.test(id));
  if (uuids.length + legacy.length === 0) return [];
  const r = await sql<{ id: string; legacyId: string | null }>`
    SELECT c.id::text AS id, c."legacyId"::text AS "legacyId" FROM challenges."Challenge" c
    WHERE (c.id = ANY(${uuids}::uuid[]) OR c."legacyId" = ANY(${legacy}::bigint[])) AND ${explicitlyUnratedSql(sql`c.id`)}`.execute(
    challenges,
  );
  const wanted = new Set(ids);
  return r.rows.flatMap((x) => [x.id, x.legacyId]).filter((x): x is string => x !== null && wanted.has(x));
}

type Row = Omit<ParityExample, 'track' | 'type'> & { track: string | null; type: string | null };

/**
 * Count and first `examples` findings (ordered by member, track, type, field) in one statement. With the run's
 * `snapshot`, findings of members changed since it are deferred — counted apart, never in `count` — by one
 * anti-join of the (usually empty) findings against the (small) set of changed members, read in the same
 * statement as the findings, so a change the findings saw is a change the deferral sees.
 */
export async function countFindings(
  db: Kysely<any>,
  findings: RawBuilder<unknown>,
  examples: number,
  where: RawBuilder<unknown> = sql`true`,
  snapshot?: string,
): Promise<{ count: number; examples: Row[]; deferred?: Deferred }> {
  const changed = snapshot === undefined ? sql`SELECT NULL::bigint AS "userId" WHERE false` : changedSince(snapshot);
  const r = await sql<{ n: number; examples: Row[]; deferred: number; deferredIds: number[] }>`
    WITH changed AS MATERIALIZED (${changed}),
    a AS MATERIALIZED (SELECT * FROM (${findings}) x WHERE ${where}),
    f AS MATERIALIZED (SELECT a.*, COALESCE(a."userId" IN (SELECT "userId" FROM changed), false) AS deferred FROM a)
    SELECT (SELECT count(*)::int FROM f WHERE NOT deferred) AS n,
           (SELECT COALESCE(json_agg(json_build_object('userId', "userId", 'track', track, 'type', type, 'field', field, 'legacy', legacy, 'unified', unified)), '[]')
            FROM (SELECT * FROM f WHERE NOT deferred ORDER BY "userId" NULLS FIRST, track, type, field, legacy::text LIMIT ${examples}) e) AS examples,
           (SELECT count(*)::int FROM f WHERE deferred) AS deferred,
           (SELECT COALESCE(json_agg(u ORDER BY u), '[]') FROM (SELECT DISTINCT "userId" AS u FROM f WHERE deferred ORDER BY 1 LIMIT ${MAX_DEFERRED_IDS}) d)
             AS "deferredIds"`.execute(db);
  const row = r.rows[0]!;
  return {
    count: row.n,
    examples: row.examples,
    ...(snapshot === undefined ? {} : { deferred: { count: row.deferred, userIds: row.deferredIds } }),
  };
}

/** Catalogue ids in findings → names (a legacy family name passes through). */
export function nameExamples(
  catalog: Catalog,
  f: { count: number; examples: Row[]; deferred?: Deferred },
): Findings & { deferred?: Deferred } {
  const tracks = new Map(catalog.tracks.map((t) => [t.id, t.track as string]));
  const types = new Map(catalog.types.map((t) => [t.id, t.name as string]));
  return {
    count: f.count,
    ...(f.deferred ? { deferred: f.deferred } : {}),
    examples: f.examples.map((e) => ({
      ...e,
      track: e.track === null ? null : (tracks.get(e.track) ?? e.track),
      type: e.type === null ? null : (types.get(e.type) ?? e.type),
    })),
  };
}

/** history-order: mostRecent order findings plus null newRatings (errors; warnings where explicitly unrated). */
export async function historyOrderFindings(
  db: Kysely<any>,
  challenges: Kysely<any>,
  cat: Catalog,
  scope: ParityScope,
  examples: number,
  snapshot?: string,
): Promise<Omit<CategoryResult, 'ms'>> {
  const order = nameExamples(cat, await readOnly(db, (tx) => countFindings(tx, historyOrder(cat, scope), examples, sql`true`, snapshot)));
  const ids = await nullRatingChallengeIds(db, scope);
  const unrated = ids.length > 0 ? await explicitlyUnrated(challenges, ids) : [];
  const nulls = nullRatingRows(scope, unrated);
  const errors = nameExamples(cat, await countFindings(db, nulls, examples, sql`NOT unrated`, snapshot));
  // warnings are reported, never counted: nothing to defer
  const { deferred: _w, ...warnings } = nameExamples(cat, await countFindings(db, nulls, examples, sql`unrated`));
  const deferred = mergeDeferred(order.deferred, errors.deferred);
  return { ...merge(order, errors, examples), warnings, ...(deferred ? { deferred } : {}) };
}

/** Two categories' deferrals as one (counts added, ids united). */
export function mergeDeferred(a: Deferred | undefined, b: Deferred | undefined): Deferred | undefined {
  if (!a || !b) return a ?? b;
  const userIds = [...new Set([...a.userIds, ...b.userIds])].sort((x, y) => x - y).slice(0, MAX_DEFERRED_IDS);
  return { count: a.count + b.count, userIds };
}
