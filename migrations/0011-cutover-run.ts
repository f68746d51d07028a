import { sql, type Kysely, type Migration } from 'kysely';

/**
 * The cutover workflow's state, mirrored on every transition: `status` and the API show a cutover without asking
 * the worker (or Temporal) — the workflow stays the source of truth, this is its last word.
 */
export const cutoverRun: Migration = {
  async up(db: Kysely<any>) {
    // 0002 reserved a table of this name that nothing ever wrote: it is replaced by the mirror's shape
    await sql`DROP TABLE IF EXISTS platform."cutoverRun"`.execute(db);
    await sql`
      CREATE TABLE platform."cutoverRun" (
        name TEXT PRIMARY KEY,
        "workflowId" TEXT NOT NULL,
        step TEXT,
        state TEXT NOT NULL,
        status JSONB NOT NULL,
        "startedAt" TIMESTAMPTZ NOT NULL,
        "updatedAt" TIMESTAMPTZ NOT NULL DEFAULT now()
      )`.execute(db);
  },
  async down(db: Kysely<any>) {
    await sql`DROP TABLE IF EXISTS platform."cutoverRun"`.execute(db);
    await sql`
      CREATE TABLE platform."cutoverRun" (
        "workflowId" TEXT PRIMARY KEY, kind TEXT NOT NULL, phase TEXT NOT NULL, state TEXT NOT NULL,
        input JSONB NOT NULL DEFAULT '{}', result JSONB, "startedAt" TIMESTAMPTZ NOT NULL DEFAULT now(), "finishedAt" TIMESTAMPTZ
      )`.execute(db);
  },
};
