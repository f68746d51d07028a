import { sql, type Kysely } from 'kysely';
import type { CallerRef, ChallengeRefreshResult } from '../../domain/refresh';
import type { Stream } from '../../domain/rerate';

/** Phase E's records (migrations/0010): refreshed challenge ends, events the sequencer rated. */

export async function recordRefresh(db: Kysely<any>, r: ChallengeRefreshResult, caller: CallerRef): Promise<void> {
  await sql`
    INSERT INTO platform."refreshLog" ("challengeId", "endDate", "clientId", via, result)
    VALUES (${r.challengeId}::uuid, ${r.endDate}::timestamptz, ${caller.clientId}, ${caller.via}, ${JSON.stringify(r)}::jsonb)
    ON CONFLICT ("challengeId") DO UPDATE SET result = EXCLUDED.result, "refreshedAt" = now()`.execute(db);
}

/** Events the sequencer (or a rerate it ran) rated: a trigger for one of them again has nothing to rate. */
export async function recordRated(db: Kysely<any>, stream: Stream, events: Array<{ challengeId: string; endDate: Date }>): Promise<void> {
  if (events.length === 0) return;
  await sql`
    INSERT INTO platform."ratedEvent" (stream, "challengeId", "endDate")
    SELECT ${stream}, * FROM unnest(${events.map((e) => e.challengeId)}::text[], ${events.map((e) => e.endDate)}::timestamptz[])
    ON CONFLICT (stream, "challengeId") DO NOTHING`.execute(db);
}

export async function ratedEvents(db: Kysely<any>, stream: Stream, ids: string[]): Promise<Set<string>> {
  const r = await sql<{ challengeId: string }>`
    SELECT "challengeId" FROM platform."ratedEvent" WHERE stream = ${stream} AND "challengeId" = ANY(${ids}::text[])`.execute(db);
  return new Set(r.rows.map((x) => x.challengeId));
}

/** The latest event (end date, id) the sequencer rated on the stream; undefined before its first. */
export async function ratingMark(db: Kysely<any>, stream: Stream): Promise<{ challengeId: string; endAt: number } | undefined> {
  const r = await sql<{ challengeId: string; endDate: Date }>`
    SELECT "challengeId", "endDate" FROM platform."ratedEvent" WHERE stream = ${stream}
    ORDER BY "endDate" DESC, "challengeId" DESC LIMIT 1`.execute(db);
  const row = r.rows[0];
  return row && { challengeId: row.challengeId, endAt: row.endDate.getTime() };
}
