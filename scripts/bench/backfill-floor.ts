import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql, type Kysely } from 'kysely';
import type { Pool } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';

/**
 * The database's own floor for a backfill: the time to write the run's final rows — what the unified tables hold
 * after it — into empty tables with the same columns, indexes and constraints, by binary COPY. Nothing the backfill
 * does can write those rows faster on this server; the orchestrated run is judged by its ratio to this.
 */

export const UNIFIED_TABLES = ['memberStats', 'memberStatsHistory', 'memberMaxRating'] as const;
const FLOOR_SCHEMA = 'bench_floor';

export interface Floor {
  seconds: number;
  tables: Record<(typeof UNIFIED_TABLES)[number], { rows: number; seconds: number }>;
}

async function dump(db: Kysely<any>, pool: Pool, table: string): Promise<{ chunks: Buffer[]; rows: number }> {
  const client = await pool.connect();
  try {
    const chunks: Buffer[] = [];
    const copy = sql`COPY ${sql.table(`members.${table}`)} TO STDOUT (FORMAT binary)`.compile(db).sql;
    for await (const chunk of client.query(copyTo(copy))) chunks.push(chunk as Buffer);
    const n = await client.query<{ n: number }>(sql`SELECT count(*)::int AS n FROM ${sql.table(`members.${table}`)}`.compile(db).sql);
    return { chunks, rows: n.rows[0]!.n };
  } finally {
    client.release();
  }
}

/** Reads the unified tables' rows (not timed), then times COPY of them into empty copies of the tables, one transaction each. */
export async function measureFloor(db: Kysely<any>, pool: Pool): Promise<Floor> {
  await sql`DROP SCHEMA IF EXISTS ${sql.id(FLOOR_SCHEMA)} CASCADE`.execute(db);
  await sql`CREATE SCHEMA ${sql.id(FLOOR_SCHEMA)}`.execute(db);
  const tables = {} as Floor['tables'];
  let seconds = 0;
  try {
    for (const table of UNIFIED_TABLES) {
      const target = `${FLOOR_SCHEMA}.${table}`;
      // INCLUDING ALL: the same defaults, unique constraints, partial and secondary indexes as the real table
      await sql`CREATE TABLE ${sql.table(target)} (LIKE ${sql.table(`members.${table}`)} INCLUDING ALL)`.execute(db);
      const { chunks, rows } = await dump(db, pool, table);
      const client = await pool.connect();
      try {
        const started = performance.now();
        await client.query('BEGIN');
        const copy = sql`COPY ${sql.table(target)} FROM STDIN (FORMAT binary)`.compile(db).sql;
        await pipeline(Readable.from(chunks), client.query(copyFrom(copy)));
        await client.query('COMMIT');
        const s = (performance.now() - started) / 1000;
        tables[table] = { rows, seconds: s };
        seconds += s;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        client.release();
      }
    }
  } finally {
    await sql`DROP SCHEMA IF EXISTS ${sql.id(FLOOR_SCHEMA)} CASCADE`.execute(db);
  }
  return { seconds, tables };
}
