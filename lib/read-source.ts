import { sql, type Kysely } from 'kysely';

export type ReadSource = 'legacy' | 'unified';

/** First start only: the read source comes from STATS_READ_SOURCE (default legacy); later starts keep the stored one. */
export async function initReadSource(db: Kysely<any>, initial: ReadSource): Promise<ReadSource> {
  await db.transaction().execute(async (tx) => {
    const inserted = await sql`
      INSERT INTO platform."readSource" (id, source, "updatedBy") VALUES (1, ${initial}, 'startup')
      ON CONFLICT (id) DO NOTHING RETURNING source`.execute(tx);
    if (inserted.rows.length > 0) {
      await sql`
        INSERT INTO platform."readSourceAudit" ("fromSource", "toSource", actor, reason)
        VALUES (NULL, ${initial}, 'startup', 'initialised from STATS_READ_SOURCE')`.execute(tx);
    }
  });
  return getReadSource(db);
}

export async function getReadSource(db: Kysely<any>): Promise<ReadSource> {
  const r = await sql<{ source: ReadSource }>`SELECT source FROM platform."readSource" WHERE id = 1`.execute(db);
  const row = r.rows[0];
  if (!row) throw new Error('read source is not initialised: run `npm run stack` (or any command that migrates) first');
  return row.source;
}
