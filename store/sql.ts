import { sql, type Kysely, type RawBuilder } from 'kysely';

/** Column-list helpers for statements built from a list of column names (identifiers quoted, never spliced). */

export const ids = (cols: readonly string[]) => sql.join(cols.map((c) => sql.id(c)));
export const excluded = (cols: readonly string[]) => sql.join(cols.map((c) => sql`${sql.id(c)} = EXCLUDED.${sql.id(c)}`));
export const changed = (table: string, cols: readonly string[]) =>
  sql`(${sql.join(cols.map((c) => sql`${sql.table(table)}.${sql.id(c)}`))}) IS DISTINCT FROM (${sql.join(cols.map((c) => sql`EXCLUDED.${sql.id(c)}`))})`;

/**
 * A SELECT list naming every column of `types` in order: the given expressions, typed NULLs for the rest. Branches
 * of a UNION ALL then say what they set by name instead of padding with positional NULLs.
 */
export function namedColumns<C extends Record<string, string>>(
  types: C,
  values: { [K in keyof C]?: RawBuilder<unknown> },
): RawBuilder<unknown> {
  return sql.join(
    Object.entries(types).map(([name, type]) => {
      const v = values[name as keyof C];
      return v ? sql`${v} AS ${sql.id(name)}` : sql`NULL::${sql.raw(type)} AS ${sql.id(name)}`;
    }),
  );
}

/** Read-only, with room for the hash joins of a full run. */
export function readOnly<T>(db: Kysely<any>, fn: (tx: Kysely<any>) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (tx) => {
    await sql`SET TRANSACTION READ ONLY`.execute(tx);
    await sql`SET LOCAL work_mem = '64MB'`.execute(tx);
    return fn(tx);
  });
}

/**
 * The batch's members' rows of a unified table (pg_temp.batch_members: a backfill batch, a refresh), read member by
 * member through the table's userId-leading index — OFFSET 0 keeps the planner from flattening the LATERAL into a
 * join it could plan as a hash of the whole table, every batch, growing with the table. Cost ∝ the batch.
 * `members`: a temp table of some of the batch's members ("userId") instead.
 */
export const batchRows = (table: string, members = 'batch_members'): RawBuilder<unknown> =>
  sql`(SELECT t.* FROM ${sql.table(members)} p CROSS JOIN LATERAL (SELECT * FROM ${sql.table(table)} t WHERE t."userId" = p."userId" OFFSET 0) t)`;

/**
 * `col` is one of the batch's members, as an array probe. Only where the table is read alone (no join partner):
 * the planner takes the array for a handful of ids, so next to a staged table it would loop over that table.
 */
export const ofBatch = (col: RawBuilder<unknown>): RawBuilder<unknown> => sql`${col} = ANY(ARRAY(SELECT "userId" FROM batch_members))`;

/** The statement's target rows (alias x) whose id `ids` yields: an array probe of the primary key, whatever the table's size. */
export const byIds = (ids: RawBuilder<unknown>): RawBuilder<unknown> => sql`x.id = ANY(ARRAY(${ids}))`;
