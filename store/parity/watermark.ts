import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { DataWatermark } from '../../domain/parity';

/**
 * The data watermark parity evidence is stored under (domain/parity.ts: DataWatermark). It covers what parity
 * compares: our unified tables and the legacy member tables. A content hash (sum of hash_record_extended, so
 * order-independent and binary — no text rendering) catches any insert, delete or changed value, including writes
 * that do not touch updatedAt; updatedAt catches a rewrite of identical content by a well-behaved writer. One
 * sequential scan per table, the tables in parallel.
 */

const UNIFIED = ['memberStats', 'memberStatsHistory', 'memberMaxRating'] as const;
const LEGACY = [
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
    const r = await sql<{ rows: number; hash: string; maxUpdatedAt: Date | null }>`
      SELECT count(*)::int AS rows, COALESCE(sum(hash_record_extended(t, 0)), 0)::text AS hash
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
