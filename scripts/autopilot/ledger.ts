import { sql, type Kysely } from 'kysely';

/**
 * The simulated legacy pipeline's own bookkeeping, in the members database beside the legacy tables it writes
 * (schema `autopilot`, nothing of ours reads it): one row per challenge whose legacy rows were applied, committed in
 * the same transaction as them. It makes the non-idempotent part of an ending (legacy counts go up by one) happen
 * exactly once when the three databases are separate and a crash falls between their commits, carries what the
 * challenges database still needs to finish the ending (end date, winners), and numbers each rating stream's
 * events (challengeResult.ratingOrder) across autopilot processes.
 */

export interface LedgerEntry {
  challengeId: string;
  stream: string | null;
  ratingOrder: number | null;
  endDate: Date;
  /** what finishing the ending needs: see end-challenge.ts EndingRecord */
  record: unknown;
}

const ready = new WeakMap<Kysely<any>, Promise<void>>();

async function create(db: Kysely<any>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await sql`CREATE SCHEMA IF NOT EXISTS autopilot`.execute(db);
      await sql`
        CREATE TABLE IF NOT EXISTS autopilot."endedChallenge" (
          "challengeId" UUID PRIMARY KEY,
          stream TEXT,
          "ratingOrder" INT,
          "endDate" TIMESTAMPTZ NOT NULL,
          record JSONB NOT NULL,
          "appliedAt" TIMESTAMPTZ NOT NULL DEFAULT now()
        )`.execute(db);
      await sql`CREATE INDEX IF NOT EXISTS "endedChallenge_stream_ratingOrder_idx" ON autopilot."endedChallenge" (stream, "ratingOrder")`.execute(
        db,
      );
      return;
    } catch (e) {
      // two processes creating it at once: one wins, the other sees a duplicate catalogue row; try again
      const code = (e as { code?: string }).code;
      if (attempt < 3 && (code === '23505' || code === '42P07' || code === '42P06')) continue;
      throw e;
    }
  }
}

/** Creates the ledger once per database handle (idempotent). */
export function ensureLedger(db: Kysely<any>): Promise<void> {
  let p = ready.get(db);
  if (!p) {
    p = create(db);
    p.catch(() => ready.delete(db));
    ready.set(db, p);
  }
  return p;
}

export async function ledgerEntry(db: Kysely<any>, challengeId: string): Promise<LedgerEntry | undefined> {
  const r = await sql<LedgerEntry>`
    SELECT "challengeId"::text AS "challengeId", stream, "ratingOrder", "endDate", record
    FROM autopilot."endedChallenge" WHERE "challengeId" = ${challengeId}::uuid`.execute(db);
  return r.rows[0];
}

/** Records an ending; false when it was already recorded (its legacy rows are then not to be written again). */
export async function recordEnding(db: Kysely<any>, e: LedgerEntry): Promise<boolean> {
  const r = await sql`
    INSERT INTO autopilot."endedChallenge" ("challengeId", stream, "ratingOrder", "endDate", record)
    VALUES (${e.challengeId}::uuid, ${e.stream}, ${e.ratingOrder}, ${e.endDate.toISOString()}::timestamptz, ${JSON.stringify(e.record)}::jsonb)
    ON CONFLICT ("challengeId") DO NOTHING`.execute(db);
  return Number(r.numAffectedRows ?? 0) > 0;
}

/** The last ratingOrder the autopilot gave an event of this stream (0: none yet). */
export async function lastRatingOrder(db: Kysely<any>, stream: string): Promise<number> {
  const r = await sql<{
    n: number | null;
  }>`SELECT max("ratingOrder") AS n FROM autopilot."endedChallenge" WHERE stream = ${stream}`.execute(db);
  return r.rows[0]?.n ?? 0;
}
