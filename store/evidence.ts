import { sql, type Kysely } from 'kysely';
import type { EvidenceInput } from '../domain/evidence';

/** Idempotent: a retried store (same kind, workflow and run) updates the one row it wrote. */
export async function storeEvidence(db: Kysely<any>, e: EvidenceInput): Promise<number> {
  const r = await sql<{ id: number }>`
    INSERT INTO platform.evidence (kind, "workflowId", "runId", passed, input, result, "dataWatermark")
    VALUES (${e.kind}, ${e.workflowId}, ${e.runId}, ${e.passed}, ${JSON.stringify(e.input ?? {})}::jsonb,
            ${JSON.stringify(e.result)}::jsonb, ${e.dataWatermark ?? null})
    ON CONFLICT (kind, "workflowId", "runId") DO UPDATE
      SET passed = EXCLUDED.passed, input = EXCLUDED.input, result = EXCLUDED.result, "dataWatermark" = EXCLUDED."dataWatermark"
    RETURNING id`.execute(db);
  const id = r.rows[0]?.id;
  if (id === undefined) throw new Error('evidence insert returned no id');
  return id;
}

export interface EvidenceSummary {
  kind: string;
  id: number;
  passed: boolean;
  workflowId: string;
  createdAt: string;
  /** why a run stopped, when it did */
  error?: string;
}

/** The newest evidence of each kind. */
export async function latestEvidence(db: Kysely<any>): Promise<EvidenceSummary[]> {
  const r = await sql<{ kind: string; id: number; passed: boolean; workflowId: string; createdAt: Date; error: string | null }>`
    SELECT DISTINCT ON (kind) kind, id, passed, "workflowId", "createdAt", result->>'error' AS error
    FROM platform.evidence ORDER BY kind, "createdAt" DESC, id DESC`.execute(db);
  return r.rows.map(({ error, ...x }) => ({ ...x, createdAt: x.createdAt.toISOString(), ...(error ? { error } : {}) }));
}
