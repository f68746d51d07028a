import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { DataWatermark } from '../../domain/parity';

/**
 * The data watermark parity evidence is stored under (domain/parity.ts: DataWatermark). It covers what parity
 * compares: our unified tables, the legacy stats tables, and which members exist (not their profiles). A content hash (sum of hash_record_extended, so
 * order-independent and binary — no text rendering) catches any insert, delete or changed value, including writes
 * that do not touch updatedAt; updatedAt catches a rewrite of identical content by a well-behaved writer. One
 * sequential scan per table, the tables in parallel.
 */

/** Change capture marks writes to exactly these tables (migrations/0012-changed-members.ts CAPTURED_TABLES). */
export const UNIFIED = ['memberStats', 'memberStatsHistory', 'memberMaxRating'] as const;
export const LEGACY = [
  'member',
  'memberDevelopStats',
  'memberDevelopStatsItem',
  'memberDesignStats',
  'memberDesignStatsItem',
  'memberDataScienceStats',
  'memberSrmStats',
  'memberMarathonStats',
  'memberHistoryStats',
  'memberDevelopHistoryStats',
  'memberDataScienceHistoryStats',
] as const;

export async function dataWatermark(db: Kysely<any>): Promise<DataWatermark> {
  const measure = async (table: string, ours: boolean) => {
    // of `member` parity reads only who exists: profile edits (handle, email, country) leave its outcome alone
    const hashed = table === 'member' ? sql`hashint8extended(t."userId", 0)` : sql`hash_record_extended(t, 0)`;
    const r = await sql<{ rows: number; hash: string; maxUpdatedAt: Date | null }>`
      SELECT count(*)::int AS rows, COALESCE(sum(${hashed}), 0)::text AS hash
             ${ours ? sql`, max(t."updatedAt") AS "maxUpdatedAt"` : sql``}
      FROM ${sql.table(`members.${table}`)} t`.execute(db);
    const row = r.rows[0]!;
    return [table, { rows: row.rows, hash: row.hash, ...(ours ? { maxUpdatedAt: row.maxUpdatedAt?.toISOString() ?? null } : {}) }] as const;
  };
  const entries = await Promise.all([...UNIFIED.map((t) => measure(t, true)), ...LEGACY.map((t) => measure(t, false))]);
  const tables = Object.fromEntries(entries);
  const value = createHash('sha256').update(JSON.stringify(entries)).digest('hex').slice(0, 32);
  return { value, tables };
}
