import { sql, type Kysely } from 'kysely';
import type { ChunkResult, ReratePlan } from '../../domain/rerate';

/** Phase D's checkpoints (migrations/0006): a run's plan, and each chunk's commit with what it wrote. */

export async function beginRerate(db: Kysely<any>, plan: ReratePlan): Promise<void> {
  await sql`
    INSERT INTO platform."rerateRun" ("runKey", stream, plan) VALUES (${plan.runKey}, ${plan.stream}, ${JSON.stringify(plan)}::jsonb)
    ON CONFLICT ("runKey") DO NOTHING`.execute(db);
}

export async function finishRerate(db: Kysely<any>, runKey: string): Promise<void> {
  await sql`UPDATE platform."rerateRun" SET status = 'done', "finishedAt" = now() WHERE "runKey" = ${runKey} AND status = 'running'`.execute(
    db,
  );
}

export async function committedChunk(db: Kysely<any>, runKey: string, chunk: number): Promise<ChunkResult | undefined> {
  const r = await sql<{ result: ChunkResult }>`
    SELECT result FROM platform."rerateChunk" WHERE "runKey" = ${runKey} AND chunk = ${chunk}`.execute(db);
  return r.rows[0]?.result;
}

/** Inside the chunk's transaction: it committed with this result. */
export async function recordChunk(tx: Kysely<any>, runKey: string, result: ChunkResult): Promise<void> {
  await sql`
    INSERT INTO platform."rerateChunk" ("runKey", chunk, result) VALUES (${runKey}, ${result.chunk}, ${JSON.stringify(result)}::jsonb)
    ON CONFLICT ("runKey", chunk) DO NOTHING`.execute(tx);
}
