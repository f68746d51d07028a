import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import { evaluateParityGate, type GateEvidence, type ParityGate } from '../../domain/parity';
import { dataWatermark } from './watermark';

/** Evidence input as the parity workflow stores it; read back tolerantly (older rows may lack fields). */
const StoredInput = z.object({
  mode: z.enum(['sample', 'full', 'user']),
  seed: z.string().optional(),
  samples: z.number().int().optional(),
  sampleHash: z.string().optional(),
  coversAllMembers: z.boolean().default(false),
});

/**
 * The parity gate over the stored parity evidence and the current data watermark (measured unless the caller has
 * just done so). Used by the parity workflow and by `switch --to unified`, which may not flip reads without it.
 */
export async function currentParityGate(db: Kysely<any>, watermark?: string): Promise<ParityGate> {
  const current = watermark ?? (await dataWatermark(db)).value;
  const rows = await sql<{ id: number; passed: boolean; input: unknown; dataWatermark: string | null; createdAt: Date }>`
    SELECT id, passed, input, "dataWatermark", "createdAt" FROM platform.evidence
    WHERE kind = 'parity' ORDER BY "createdAt" DESC, id DESC LIMIT 1000`.execute(db);
  const evidence: GateEvidence[] = rows.rows.flatMap((r) => {
    const i = StoredInput.safeParse(r.input);
    if (!i.success) return [];
    return [{ id: r.id, passed: r.passed, ...i.data, dataWatermark: r.dataWatermark, createdAt: r.createdAt.toISOString() }];
  });
  return evaluateParityGate(evidence, current);
}
