import { sql, type Kysely } from 'kysely';
import type { CutoverStatus } from '../domain/cutover';

/** The cutover's mirror (migrations/0011): written by the workflow on each transition, read by status and the API. */

export async function mirrorCutover(db: Kysely<any>, workflowId: string, s: CutoverStatus): Promise<void> {
  await sql`
    INSERT INTO platform."cutoverRun" (name, "workflowId", step, state, status, "startedAt", "updatedAt")
    VALUES (${s.name}, ${workflowId}, ${s.step}, ${s.state}, ${JSON.stringify(s)}::jsonb, ${s.startedAt}, now())
    ON CONFLICT (name) DO UPDATE SET "workflowId" = EXCLUDED."workflowId", step = EXCLUDED.step, state = EXCLUDED.state,
      status = EXCLUDED.status, "startedAt" = EXCLUDED."startedAt", "updatedAt" = now()`.execute(db);
}

export interface MirroredCutover {
  name: string;
  workflowId: string;
  status: CutoverStatus;
  updatedAt: string;
}

/** One cutover by name, or the most recently updated. */
export async function readCutover(db: Kysely<any>, name?: string): Promise<MirroredCutover | undefined> {
  const r = await sql<{ name: string; workflowId: string; status: CutoverStatus; updatedAt: Date }>`
    SELECT name, "workflowId", status, "updatedAt" FROM platform."cutoverRun"
    ${name === undefined ? sql`` : sql`WHERE name = ${name}`}
    ORDER BY "updatedAt" DESC LIMIT 1`.execute(db);
  const row = r.rows[0];
  return row && { ...row, updatedAt: row.updatedAt.toISOString() };
}
