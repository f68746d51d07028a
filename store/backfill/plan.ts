import { sql, type Kysely } from 'kysely';
import type { UserRange } from '../../domain/backfill';

/** Whether the review database exposes challengeResult (nothing can be backfilled or rated right without it). */
export async function hasChallengeResult(reviews: Kysely<any>): Promise<boolean> {
  const r = await sql<{ t: string | null }>`SELECT to_regclass('reviews."challengeResult"')::text AS t`.execute(reviews);
  return Boolean(r.rows[0]?.t);
}

/**
 * Cuts the members (the first `limit` by userId, or all) into keyset ranges of `batchSize`: every batchSize-th
 * member starts a range; the first range starts at 1 and the last is open-ended (unless limited), so ids
 * referenced only by legacy rows (missing members) fall in some range and get reported.
 */
export async function memberRanges(db: Kysely<any>, batchSize: number, limit?: number): Promise<{ ranges: UserRange[]; total: number }> {
  const lim = limit ?? null;
  const r = await sql<{ userId: number; total: number }>`
    WITH m AS (
      SELECT "userId", row_number() OVER (ORDER BY "userId") AS rn FROM members."member"
      ${lim === null ? sql`` : sql`ORDER BY "userId" LIMIT ${lim}`}
    )
    SELECT "userId", (SELECT count(*) FROM m)::int AS total FROM m WHERE (rn - 1) % ${batchSize} = 0 ORDER BY "userId"`.execute(db);
  const starts = r.rows.map((x) => x.userId);
  const total = r.rows[0]?.total ?? 0;
  let lastId = Number.MAX_SAFE_INTEGER;
  if (lim !== null && total > 0) {
    const last = await sql<{ userId: number }>`SELECT "userId" FROM members."member" ORDER BY "userId" OFFSET ${total - 1} LIMIT 1`.execute(
      db,
    );
    lastId = last.rows[0]!.userId;
  }
  const ranges: UserRange[] = starts.map((s, i) => [i === 0 ? 1 : s, i + 1 < starts.length ? starts[i + 1]! - 1 : lastId]);
  return { ranges, total };
}
