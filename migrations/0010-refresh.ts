import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Phase E: which challenge ends were refreshed (and by whom — a client id, never a token), which events the
 * per-stream sequencer rated, and the reconciler's high-water mark over completed challenges (end date, id).
 */
export const refresh: Migration = {
  async up(db: Kysely<any>) {
    await sql`
      CREATE TABLE IF NOT EXISTS platform."refreshLog" (
        "challengeId" UUID PRIMARY KEY,
        "endDate" TIMESTAMPTZ NOT NULL,
        "clientId" TEXT NOT NULL,
        via TEXT NOT NULL,
        result JSONB NOT NULL,
        "refreshedAt" TIMESTAMPTZ NOT NULL DEFAULT now()
      )`.execute(db);
    await sql`
      CREATE TABLE IF NOT EXISTS platform."ratedEvent" (
        stream TEXT NOT NULL,
        "challengeId" TEXT NOT NULL,
        "endDate" TIMESTAMPTZ NOT NULL,
        "ratedAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (stream, "challengeId")
      )`.execute(db);
    await sql`
      CREATE TABLE IF NOT EXISTS platform."refreshMark" (
        id BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),
        "endDate" TIMESTAMPTZ NOT NULL,
        "challengeId" UUID NOT NULL,
        "updatedAt" TIMESTAMPTZ NOT NULL DEFAULT now()
      )`.execute(db);
  },
  async down(db: Kysely<any>) {
    await sql`DROP TABLE IF EXISTS platform."refreshMark"`.execute(db);
    await sql`DROP TABLE IF EXISTS platform."ratedEvent"`.execute(db);
    await sql`DROP TABLE IF EXISTS platform."refreshLog"`.execute(db);
  },
};
