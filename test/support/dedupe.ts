import { sql, type Kysely } from 'kysely';

/** Phase D5's test helpers: digests of what a dedupe may touch, and the duplicates derived without store/dedupe. */

/** Every table of the members schema and the dedupe tables, each as a hash of its full rows (ids, timestamps, flags). */
export async function dedupeDigest(db: Kysely<any>): Promise<Record<string, string>> {
  const tables = await sql<{ s: string; t: string }>`
    SELECT table_schema AS s, table_name AS t FROM information_schema.tables
    WHERE table_type = 'BASE TABLE' AND (table_schema = 'members' OR (table_schema = 'platform' AND table_name LIKE 'dedupe%'))
    ORDER BY 1, 2`.execute(db);
  const out: Record<string, string> = {};
  for (const { s, t } of tables.rows) {
    const r = await sql<{ h: string }>`
      SELECT md5(COALESCE(string_agg(x::text, '|' ORDER BY x::text), '')) AS h FROM ${sql.table(`${s}.${t}`)} x`.execute(db);
    out[`${s}.${t}`] = r.rows[0]!.h;
  }
  return out;
}

/** memberStatsHistory exactly: every column of every row, ids and timestamps included. */
export async function historyRows(db: Kysely<any>): Promise<string> {
  const r = await sql<{ h: string }>`
    SELECT md5(COALESCE(string_agg(to_jsonb(h)::text, '|' ORDER BY h.id), '')) AS h FROM members."memberStatsHistory" h`.execute(db);
  return r.rows[0]!.h;
}

export interface Derived {
  id: number;
  userId: number;
  round: number;
  canonicalId: number;
}

/**
 * The duplicates derived here, independently of store/dedupe: the Marathon Match rows with the challenge name their
 * id names (UUID or legacyId), the round by RATINGS.md's pattern, the canonical row per member and round, and the
 * numeric rows of such a round. Ordered as the dedupe orders them (member, round, row id).
 */
export async function deriveDuplicates(db: Kysely<any>, userIds?: number[]): Promise<Derived[]> {
  const rows = await sql<{
    id: number;
    userId: number;
    challengeId: string;
    challengeName: string | null;
    eventDate: Date;
    newRating: number | null;
    placement: number | null;
    createdBy: string;
    updatedBy: string | null;
    name: string | null;
  }>`
    SELECT h.id, h."userId", h."challengeId", h."challengeName", h."eventDate", h."newRating", h.placement, h."createdBy", h."updatedBy",
           (SELECT c.name FROM challenges."Challenge" c WHERE c.id::text = lower(h."challengeId") OR c."legacyId"::text = h."challengeId"
            ORDER BY c.id LIMIT 1) AS name
    FROM members."memberStatsHistory" h
    JOIN challenges."ChallengeTrack" t ON t.id = h."trackId" JOIN challenges."ChallengeType" y ON y.id = h."typeId"
    WHERE t.track = 'DATA_SCIENCE' AND y.name = 'Marathon Match'`.execute(db);
  const roundOf = (s: string | null) => {
    const m = /(?:MM|Marathon Match)\s*#?\s*([0-9]+)/i.exec(s ?? '');
    return m ? Number(m[1]) : null;
  };
  const withRound = rows.rows
    .map((r) => ({ ...r, round: roundOf(r.name) ?? roundOf(r.challengeName) }))
    .filter((r) => r.round !== null && (userIds === undefined || userIds.includes(r.userId)));
  const canonical = new Map<string, (typeof withRound)[number]>();
  for (const r of withRound) {
    const ok =
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(r.challengeId) &&
      r.newRating !== null &&
      (r.placement ?? 0) > 0 &&
      (r.createdBy === 'rerate-mm-stats' || r.updatedBy === 'rerate-mm-stats');
    if (!ok) continue;
    const k = `${r.userId}/${r.round}`;
    const had = canonical.get(k);
    if (!had || r.eventDate > had.eventDate || (r.eventDate.getTime() === had.eventDate.getTime() && r.id > had.id)) canonical.set(k, r);
  }
  return withRound
    .filter((r) => /^\d+$/.test(r.challengeId) && canonical.has(`${r.userId}/${r.round}`))
    .map((r) => ({ id: r.id, userId: r.userId, round: r.round!, canonicalId: canonical.get(`${r.userId}/${r.round}`)!.id }))
    .sort((a, b) => a.userId - b.userId || a.round - b.round || a.id - b.id);
}
