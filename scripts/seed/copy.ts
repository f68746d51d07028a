import { once } from 'node:events';
import type { Kysely, RawBuilder } from 'kysely';
import { sql } from 'kysely';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom, type CopyStreamQuery } from 'pg-copy-streams';

/**
 * Streams rows into one table with COPY (text format) on a dedicated pooled connection. The load runs in one
 * transaction that first truncates the table, so COPY … FREEZE applies: rows are written frozen and need no
 * hint-bit pass on first read. Rows are batched into ~1 MB chunks; a full socket makes `flush` wait for 'drain',
 * which bounds memory and lets the generator and Postgres run side by side on separate cores.
 */

export type Cell = string | number | boolean | null | undefined;

const CHUNK = 1 << 20;

/** One COPY text-format field: \N for null, t/f, numbers as-is, strings with the four specials escaped. */
export function cell(v: Cell): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new RangeError(`non-finite number in seed row: ${v}`);
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 't' : 'f';
  return /[\\\t\n\r]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : v;
}

/** Epoch milliseconds → an ISO timestamp Postgres parses as timestamptz. */
export function ts(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

async function run(client: PoolClient, db: Kysely<any>, query: RawBuilder<unknown>): Promise<void> {
  const compiled = query.compile(db);
  await client.query(compiled.sql, compiled.parameters as unknown[]);
}

export class CopySink {
  rows = 0;
  private parts: string[] = [];
  private size = 0;
  private client?: PoolClient;
  private stream?: CopyStreamQuery;
  private failure?: Error;

  constructor(
    private readonly db: Kysely<any>,
    private readonly pool: Pool,
    readonly schema: string,
    readonly table: string,
    private readonly columns: readonly string[],
  ) {}

  get name(): string {
    return `${this.schema}.${this.table}`;
  }

  async open(): Promise<this> {
    const client = await this.pool.connect();
    this.client = client;
    try {
      await run(client, this.db, sql`BEGIN`);
      // The load is repeatable from scratch, so a crash losing the last commits costs nothing.
      await run(client, this.db, sql`SET LOCAL synchronous_commit = off`);
      await run(client, this.db, sql`TRUNCATE ${sql.table(this.name)}`);
      const copy = sql`COPY ${sql.table(this.name)} (${sql.join(this.columns.map((c) => sql.id(c)))}) FROM STDIN WITH (FORMAT text, FREEZE)`;
      this.stream = client.query(copyFrom(copy.compile(this.db).sql));
      this.stream.on('error', (err: Error) => {
        this.failure ??= err;
      });
    } catch (err) {
      await this.abort(err as Error);
      throw err;
    }
    return this;
  }

  /** Appends one row (cells in the column order given to the constructor). */
  row(cells: readonly Cell[]): void {
    if (cells.length !== this.columns.length) throw new Error(`${this.name}: ${cells.length} cells for ${this.columns.length} columns`);
    let line = cell(cells[0]);
    for (let i = 1; i < cells.length; i++) line += '\t' + cell(cells[i]);
    this.parts.push(line + '\n');
    this.size += line.length + 1;
    this.rows++;
  }

  /** A chunk has accumulated: the caller should `await maybeFlush()` before adding much more. */
  get full(): boolean {
    return this.size >= CHUNK;
  }

  /** Sends buffered rows once a chunk has accumulated (call often; cheap when there is little). */
  async maybeFlush(): Promise<void> {
    if (this.size >= CHUNK) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.size === 0) return;
    const stream = this.stream;
    if (!stream) throw new Error(`${this.name}: sink not open`);
    const chunk = this.parts.join('');
    this.parts = [];
    this.size = 0;
    if (!stream.write(chunk)) await once(stream, 'drain');
  }

  /** Sends the rest, ends COPY and commits. */
  async close(): Promise<void> {
    const stream = this.stream;
    const client = this.client;
    if (!stream || !client) throw new Error(`${this.name}: sink not open`);
    try {
      await this.flush();
      const done = once(stream, 'finish');
      stream.end();
      await done;
      await run(client, this.db, sql`COMMIT`);
      client.release();
      this.client = undefined;
    } catch (err) {
      await this.abort(err as Error);
      throw err;
    }
  }

  /** Gives up: the connection is discarded (closing it rolls the load back); safe on a failed or unopened sink. */
  async abort(reason?: Error): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.stream?.destroy();
    client?.release(reason ?? true);
  }
}
