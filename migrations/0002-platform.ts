import { sql, type Kysely, type Migration } from 'kysely';

/** Platform state: the read source and its audit trail, cutover runs, stored evidence, checkpoints. */
export const platform: Migration = {
  async up(db: Kysely<any>) {
    await sql`
      CREATE TABLE platform."readSource" (
        id SMALLINT PRIMARY KEY DEFAULT 1 CHECK (id = 1),
        source TEXT NOT NULL CHECK (source IN ('legacy', 'unified')),
        "updatedBy" TEXT NOT NULL,
        "updatedAt" TIMESTAMPTZ NOT NULL DEFAULT now()
      );
      CREATE TABLE platform."readSourceAudit" (
        id BIGSERIAL PRIMARY KEY,
        "fromSource" TEXT,
        "toSource" TEXT NOT NULL,
        actor TEXT NOT NULL,
        reason TEXT NOT NULL,
        at TIMESTAMPTZ NOT NULL DEFAULT now()
      );
      CREATE TABLE platform."cutoverRun" (
        "workflowId" TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        phase TEXT NOT NULL,
        state TEXT NOT NULL,
        input JSONB NOT NULL DEFAULT '{}',
        result JSONB,
        "startedAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "finishedAt" TIMESTAMPTZ
      );
      CREATE TABLE platform.evidence (
        id BIGSERIAL PRIMARY KEY,
        kind TEXT NOT NULL,
        "workflowId" TEXT NOT NULL,
        "runId" TEXT NOT NULL,
        passed BOOLEAN NOT NULL,
        input JSONB NOT NULL DEFAULT '{}',
        result JSONB NOT NULL,
        "dataWatermark" TEXT,
        "createdAt" TIMESTAMPTZ NOT NULL DEFAULT now(),
        -- an activity retry stores the same evidence once
        CONSTRAINT evidence_once UNIQUE (kind, "workflowId", "runId")
      );
      CREATE INDEX evidence_kind_time ON platform.evidence (kind, "createdAt" DESC);
      CREATE TABLE platform.checkpoint (
        key TEXT PRIMARY KEY,
        value JSONB NOT NULL,
        "updatedAt" TIMESTAMPTZ NOT NULL DEFAULT now()
      );
    `.execute(db);
  },
  async down(db: Kysely<any>) {
    await sql`DROP TABLE IF EXISTS platform.checkpoint, platform.evidence, platform."cutoverRun", platform."readSourceAudit", platform."readSource"`.execute(
      db,
    );
  },
};
