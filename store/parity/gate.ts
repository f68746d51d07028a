import { sql, type Kysely } from 'kysely';
import { evaluateParityGate, gateEvidenceOf, type GateEvidence, type ParityGate } from '../../domain/parity';
import { dataWatermark } from './watermark';

/**
 * The parity gate over the stored parity evidence and the current data watermark (measured unless the caller has
 * just done so): runs on the current data, or — under live traffic — a clean base plus a fresh clean re-check of the
 * members changed since (domain/parity.ts evaluateParityGate). Used by the parity workflow and by
 * `switch --to unified`, which may not flip reads without it. Evidence inputs are read tolerantly: older rows lack
 * the snapshot fields and count under the current-data rule only.
 */
export async function currentParityGate(db: Kysely<any>, watermark?: string): Promise<ParityGate> {
  const current = watermark ?? (await dataWatermark(db)).value;
  const rows = await sql<{
    id: number;
    passed: boolean;
    input: unknown;
    deferredMembers: unknown;
    dataWatermark: string | null;
    createdAt: Date;
    now: Date;
  }>`
    SELECT id, passed, input - 'watermark' AS input, result->'deferred'->'members' AS "deferredMembers", "dataWatermark", "createdAt",
           now() AS now
    FROM platform.evidence
    WHERE kind = 'parity' ORDER BY "createdAt" DESC, id DESC LIMIT 1000`.execute(db);
  const evidence: GateEvidence[] = rows.rows.flatMap((r) => gateEvidenceOf({ ...r, createdAt: r.createdAt.toISOString() }) ?? []);
  // the database's clock: evidence times and snapshot times are its own
  const now = rows.rows[0]?.now ?? new Date();
  return evaluateParityGate(evidence, current, now);
}
