import { sql } from 'kysely';
import type { ActivityDeps } from './deps';

export interface EvidenceInput {
  kind: string;
  workflowId: string;
  runId: string;
  passed: boolean;
  input: unknown;
  result: unknown;
  dataWatermark?: string;
}

export function evidenceActivities({ dbs }: ActivityDeps) {
  return {
    /** Idempotent: a retried activity (same workflow run) updates the one row it wrote. */
    async storeEvidence(e: EvidenceInput): Promise<number> {
      const r = await sql<{ id: number }>`
        INSERT INTO platform.evidence (kind, "workflowId", "runId", passed, input, result, "dataWatermark")
        VALUES (${e.kind}, ${e.workflowId}, ${e.runId}, ${e.passed}, ${JSON.stringify(e.input ?? {})}::jsonb,
                ${JSON.stringify(e.result)}::jsonb, ${e.dataWatermark ?? null})
        ON CONFLICT (kind, "workflowId", "runId") DO UPDATE
          SET passed = EXCLUDED.passed, input = EXCLUDED.input, result = EXCLUDED.result, "dataWatermark" = EXCLUDED."dataWatermark"
        RETURNING id`.execute(dbs.members);
      const id = r.rows[0]?.id;
      if (id === undefined) throw new Error('evidence insert returned no id');
      return id;
    },
  };
}
