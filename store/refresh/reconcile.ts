import { sql, type Kysely } from 'kysely';
import type { Databases } from '../db';

/**
 * The reconciler's view (migrations/0010): completed challenges past a high-water mark (end date, id), which of
 * them no trigger refreshed, and the mark itself. Keyset over (endDate, id), so a sweep after downtime catches up
 * in bounded chunks.
 */

/** endDate is Postgres's own text of the timestamp (microseconds): a JS Date would round it, and a keyset mark
 * rounded down would see its own challenge again. */
export interface Mark {
  endDate: string;
  challengeId: string;
}

export async function readMark(db: Kysely<any>): Promise<Mark | undefined> {
  const r = await sql<Mark>`SELECT "endDate"::text AS "endDate", "challengeId"::text AS "challengeId" FROM platform."refreshMark"`.execute(
    db,
  );
  return r.rows[0];
}

export async function writeMark(db: Kysely<any>, m: Mark): Promise<void> {
  await sql`
    INSERT INTO platform."refreshMark" (id, "endDate", "challengeId") VALUES (true, ${m.endDate}::timestamptz, ${m.challengeId}::uuid)
    ON CONFLICT (id) DO UPDATE SET "endDate" = EXCLUDED."endDate", "challengeId" = EXCLUDED."challengeId", "updatedAt" = now()
    -- never backwards: two sweeps racing keep the later mark
    WHERE (platform."refreshMark"."endDate", platform."refreshMark"."challengeId") < (EXCLUDED."endDate", EXCLUDED."challengeId")`.execute(
    db,
  );
}

/** The latest completed challenge: where a reconciler starting on an already backfilled platform begins. */
export async function latestCompleted(dbs: Pick<Databases, 'challenges'>): Promise<Mark | undefined> {
  const r = await sql<Mark>`
    SELECT "endDate"::text AS "endDate", id::text AS "challengeId" FROM challenges."Challenge"
    WHERE status = 'COMPLETED' AND "endDate" IS NOT NULL ORDER BY "endDate" DESC, id DESC LIMIT 1`.execute(dbs.challenges);
  return r.rows[0];
}

/** Completed challenges after the mark, in (endDate, id) order, at most `limit`. */
export async function completedAfter(dbs: Pick<Databases, 'challenges'>, mark: Mark, limit: number): Promise<Mark[]> {
  const r = await sql<Mark>`
    SELECT "endDate"::text AS "endDate", id::text AS "challengeId" FROM challenges."Challenge"
    WHERE status = 'COMPLETED' AND "endDate" IS NOT NULL AND ("endDate", id) > (${mark.endDate}::timestamptz, ${mark.challengeId}::uuid)
    ORDER BY "endDate", id LIMIT ${limit}`.execute(dbs.challenges);
  return r.rows;
}

/** How far the reconciler is behind: completed challenges past the mark (counted to a cap) and the oldest's end. */
export async function reconcileLag(dbs: Databases): Promise<{ mark: Mark | undefined; behind: number; oldestBehind: Date | null }> {
  const mark = await readMark(dbs.members);
  if (!mark) return { mark, behind: 0, oldestBehind: null };
  const r = await sql<{ n: number; oldest: Date | null }>`
    SELECT count(*)::int AS n, min("endDate") AS oldest FROM (
      SELECT "endDate" FROM challenges."Challenge"
      WHERE status = 'COMPLETED' AND "endDate" IS NOT NULL AND ("endDate", id) > (${mark.endDate}::timestamptz, ${mark.challengeId}::uuid) LIMIT 100000) c`.execute(
    dbs.challenges,
  );
  return { mark, behind: r.rows[0]!.n, oldestBehind: r.rows[0]!.oldest };
}

export async function refreshedAmong(db: Kysely<any>, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const r = await sql<{ id: string }>`
    SELECT "challengeId"::text AS id FROM platform."refreshLog" WHERE "challengeId" = ANY(${ids}::uuid[])`.execute(db);
  return new Set(r.rows.map((x) => x.id));
}
